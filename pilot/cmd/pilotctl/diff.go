package main

import (
	"fmt"
	"io"
	"strings"
)

// configDiff compares two config dumps resource by resource and writes what changed: resources
// added (+), removed (-) and changed (~, with a line diff of their JSON). It returns how many
// resources differ.
func configDiff(w io.Writer, before, after map[string][]resourceJSON) int {
	changed := 0
	for _, dt := range dumpTypes {
		old, cur := byName(before[dt.short]), byName(after[dt.short])
		for _, name := range unionNames(before[dt.short], after[dt.short]) {
			o, inOld := old[name]
			n, inNew := cur[name]
			switch {
			case inOld && !inNew:
				fmt.Fprintf(w, "- %s %q removed\n", singular(dt.short), name)
			case !inOld && inNew:
				fmt.Fprintf(w, "+ %s %q added\n", singular(dt.short), name)
				writeLines(w, "    + ", canonical(n))
			default:
				a, b := canonical(o), canonical(n)
				if a == b {
					continue
				}
				fmt.Fprintf(w, "~ %s %q changed\n", singular(dt.short), name)
				writeHunks(w, strings.Split(a, "\n"), strings.Split(b, "\n"))
			}
			changed++
		}
	}
	return changed
}

func singular(short string) string {
	switch short {
	case "clusters":
		return "cluster"
	case "endpoints":
		return "endpoints of"
	case "listeners":
		return "listener"
	}
	return "route config"
}

func byName(rs []resourceJSON) map[string]map[string]any {
	out := make(map[string]map[string]any, len(rs))
	for _, r := range rs {
		out[r.Name] = r.Body
	}
	return out
}

// unionNames lists the names of both sorted lists, sorted.
func unionNames(a, b []resourceJSON) []string {
	var out []string
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i].Name < b[j].Name:
			out = append(out, a[i].Name)
			i++
		case i == len(a) || b[j].Name < a[i].Name:
			out = append(out, b[j].Name)
			j++
		default:
			out = append(out, a[i].Name)
			i, j = i+1, j+1
		}
	}
	return out
}

func writeLines(w io.Writer, prefix, text string) {
	for _, line := range strings.Split(text, "\n") {
		fmt.Fprintf(w, "%s%s\n", prefix, line)
	}
}

// diffContext is how many unchanged lines surround each change.
const diffContext = 3

// writeHunks writes a unified diff of two texts (lines), with a few lines of context around each
// change. The longest common subsequence is computed in O(n·m): resources are small.
func writeHunks(w io.Writer, a, b []string) {
	ops := lineDiff(a, b)
	keep := make([]bool, len(ops))
	for i, op := range ops {
		if op.kind != ' ' {
			for k := max(0, i-diffContext); k <= min(len(ops)-1, i+diffContext); k++ {
				keep[k] = true
			}
		}
	}
	gap := false
	for i, op := range ops {
		if !keep[i] {
			gap = true
			continue
		}
		if gap {
			fmt.Fprintln(w, "    ...")
			gap = false
		}
		fmt.Fprintf(w, "    %c %s\n", op.kind, op.line)
	}
}

type lineOp struct {
	kind byte // ' ', '-' or '+'
	line string
}

func lineDiff(a, b []string) []lineOp {
	// lcs[i][j] is the length of the longest common subsequence of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []lineOp
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			out = append(out, lineOp{' ', a[i]})
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			out = append(out, lineOp{'-', a[i]})
			i++
		default:
			out = append(out, lineOp{'+', b[j]})
			j++
		}
	}
	return out
}

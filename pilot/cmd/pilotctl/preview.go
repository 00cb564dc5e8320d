package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func preview(e *env, args []string) error {
	fs := flags(e, "preview", "-f CHANGE.yaml --node <node>",
		"What a proxy would receive if manifests were applied: the running pilot translates its current model with\n"+
			"the manifests on top (a rule replaces the rule of the same kind, namespace and name) for that proxy, and\n"+
			"pilotctl shows the difference with what the proxy has now. Nothing is applied or sent.")
	connect := pilotFlags(fs, e)
	var files stringList
	fs.Var(&files, "f", "a manifest file or directory (repeatable; - reads stdin)")
	node := fs.String("node", "", "the proxy: a node ID or <pod>.<namespace>")
	args, err := parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(args) > 0:
		return usagef("unexpected argument %q", args[0])
	case len(files) == 0:
		return usagef("give the manifests to preview with -f")
	case *node == "":
		return usagef("name the proxy with --node (pilotctl proxy-status lists them)")
	}
	manifests, err := readManifests(files)
	if err != nil {
		return err
	}
	// One stream of documents: each file starts a document of its own.
	var all bytes.Buffer
	for _, name := range sortedKeys(manifests) {
		if !bytes.HasPrefix(manifests[name], []byte("---")) {
			all.WriteString("---\n")
		}
		all.Write(manifests[name])
		all.WriteString("\n")
	}
	p, err := connect().preview(*node, all.Bytes())
	if err != nil {
		return err
	}
	for _, r := range p.Rejected {
		fmt.Fprintf(e.stderr, "refused: %s %s/%s: %s\n", r.Kind, r.Namespace, r.Name, r.Reason)
	}
	if len(p.Rejected) > 0 {
		return fmt.Errorf("%d object(s) of the change would be refused; nothing previewed", len(p.Rejected))
	}
	before, after, err := p.resources()
	if err != nil {
		return err
	}
	var out bytes.Buffer
	n := configDiff(&out, before, after)
	if n == 0 {
		fmt.Fprintf(e.stdout, "No change for %s: it would be sent nothing new.\n", *node)
		return nil
	}
	fmt.Fprintf(e.stdout, "%s would be sent %d changed resource(s):\n", *node, n)
	_, err = e.stdout.Write(out.Bytes())
	return err
}

// readManifests reads files and directories (their *.yaml, *.yml and *.json, recursively), or stdin
// for "-".
func readManifests(paths []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, p := range paths {
		if p == "-" {
			b, err := readAllStdin()
			if err != nil {
				return nil, err
			}
			out["stdin"] = b
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			out[p] = b
			continue
		}
		err = filepath.WalkDir(p, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != p {
				return filepath.SkipDir
			}
			switch strings.ToLower(filepath.Ext(path)) {
			case ".yaml", ".yml", ".json":
				if d.IsDir() {
					return nil
				}
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				out[path] = b
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no manifests (*.yaml, *.yml, *.json) in %s", strings.Join(paths, ", "))
	}
	return out, nil
}

func readAllStdin() ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(os.Stdin)
	return b.Bytes(), err
}

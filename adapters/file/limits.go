package file

import (
	"bytes"
	"errors"
	"fmt"

	yamlv3 "go.yaml.in/yaml/v3"
)

// limits bound what one file and one document may cost. A manifest of a few kilobytes can otherwise
// hold YAML aliases that expand to gigabytes (a string aliased thousands of times passes the YAML
// library's own alias-ratio check), and whatever is accepted is kept in memory and pushed to proxies.
type limits struct {
	// fileBytes caps a file, read or not: the Kubernetes API server takes requests up to 3 MiB.
	fileBytes int64
	// documentBytes caps one YAML document, as etcd caps one object at 1.5 MiB.
	documentBytes int
	// expandedBytes caps the JSON one document decodes to, aliases expanded.
	expandedBytes int64
	// expansionRatio caps that JSON relative to the document's YAML: plain YAML becomes at most
	// about three times its size in JSON, so only aliases get near it.
	expansionRatio int64
}

const mib = 1 << 20

func defaultLimits() limits {
	return limits{fileBytes: 4 * mib, documentBytes: 3 * mib / 2, expandedBytes: 3 * mib, expansionRatio: 16}
}

func (l limits) fileError(n int64) string {
	return fmt.Sprintf("file is %s; the limit is %s", size(n), size(l.fileBytes))
}

// maxExpanded is the most JSON a document of docLen bytes may decode to.
func (l limits) maxExpanded(docLen int) int64 {
	return min(l.expandedBytes, l.expansionRatio*int64(docLen))
}

// checkDocument refuses a document that is too big, or whose aliases would expand it past
// maxExpanded. It measures the expansion on the parsed node tree, where an alias is a pointer to its
// anchor, so nothing is expanded to find out.
func (l limits) checkDocument(doc []byte) error {
	if len(doc) > l.documentBytes {
		return fmt.Errorf("document is %s; the limit is %s", size(int64(len(doc))), size(int64(l.documentBytes)))
	}
	var root yamlv3.Node
	if err := yamlv3.Unmarshal(doc, &root); err != nil {
		// The Kubernetes decoder (yaml.v2) is more lenient about indentation than yaml.v3. Without an
		// anchor ("&name") nothing can expand, so its own error or result stands; with one, the
		// expansion cannot be measured without doing it, so the document is refused.
		if !bytes.ContainsRune(doc, '&') {
			return nil
		}
		return fmt.Errorf("document has YAML anchors but cannot be checked for alias expansion: %v", err)
	}
	limit := l.maxExpanded(len(doc))
	m := &expansion{limit: limit, sizes: map[*yamlv3.Node]int64{}}
	n, err := m.size(&root)
	if err != nil {
		return err
	}
	if n > limit {
		return l.expandedError(len(doc), -1)
	}
	return nil
}

// checkJSON is checkDocument's exact counterpart, on the JSON actually produced.
func (l limits) checkJSON(docLen, jsonLen int) error {
	if int64(jsonLen) > l.maxExpanded(docLen) {
		return l.expandedError(docLen, int64(jsonLen))
	}
	return nil
}

// expandedError refuses a document that expands too much; expanded < 0 means "more than the limit"
// (the measure stops there).
func (l limits) expandedError(docLen int, expanded int64) error {
	at := "more than " + size(l.maxExpanded(docLen))
	if expanded >= 0 {
		at = size(expanded)
	}
	return fmt.Errorf("document of %s expands to %s of JSON (YAML aliases repeated too often?); the limit is %d times the document's size, at most %s",
		size(int64(docLen)), at, l.expansionRatio, size(l.expandedBytes))
}

// expansion measures the JSON a YAML node tree decodes to, each anchor once.
type expansion struct {
	limit int64
	sizes map[*yamlv3.Node]int64 // -1 while the node is being measured
}

var errSelfAlias = errors.New("a YAML alias refers to an anchor that contains it")

// size returns about the JSON size of n (at least its exact size less escaping), saturating just
// above the limit so that nested aliases cannot overflow it.
func (m *expansion) size(n *yamlv3.Node) (int64, error) {
	if s, ok := m.sizes[n]; ok {
		if s < 0 {
			return 0, errSelfAlias
		}
		return s, nil
	}
	m.sizes[n] = -1
	var total int64
	add := func(c *yamlv3.Node, overhead int64) error {
		s, err := m.size(c)
		total = min(total+s+overhead, m.limit+1)
		return err
	}
	switch n.Kind {
	case yamlv3.AliasNode:
		if n.Alias != nil {
			if err := add(n.Alias, 0); err != nil {
				return 0, err
			}
		}
	case yamlv3.ScalarNode:
		total = min(int64(len(n.Value))+2, m.limit+1) // quoted; "null" for an empty value is no longer
		total = max(total, 4)
	default: // document, mapping ({"k":v,...}), sequence ([v,...])
		total = 2
		for _, c := range n.Content {
			if err := add(c, 1); err != nil { // the comma or colon after it
				return 0, err
			}
		}
	}
	m.sizes[n] = total
	return total, nil
}

// size formats a byte count for a message: "1.5 MiB (1572864 bytes)".
func size(n int64) string {
	switch {
	case n >= mib:
		return fmt.Sprintf("%.1f MiB (%d bytes)", float64(n)/mib, n)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB (%d bytes)", float64(n)/(1<<10), n)
	}
	return fmt.Sprintf("%d bytes", n)
}

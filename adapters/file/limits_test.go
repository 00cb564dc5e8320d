package file

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// aliasBomb is the manifest of issue 12: a string of n bytes aliased 9^4 times, with enough plain
// nodes (pad) that YAML's own alias-ratio check lets it through. With n = 50 KiB the file is about
// 52 KB and decodes to 330 MB of JSON; it took pilot from 46 MB to gigabytes.
func aliasBomb(n, pad int) string {
	var b strings.Builder
	b.WriteString("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: bomb}\nspec:\n  hosts: [reviews]\n  pad: [")
	for i := range pad {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprint(&b, i)
	}
	b.WriteString("]\n  x0: &a0 \"" + strings.Repeat("A", n) + "\"\n")
	for i := 1; i <= 4; i++ {
		fmt.Fprintf(&b, "  x%d: &a%d [*a%d%s]\n", i, i, i-1, strings.Repeat(fmt.Sprintf(",*a%d", i-1), 8))
	}
	return b.String()
}

// TestAliasBombRefusedBeforeExpansion: the bomb is refused, naming the document and the limit,
// without being expanded: it allocates a few megabytes at most, not hundreds.
func TestAliasBombRefusedBeforeExpansion(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "bomb.yaml", reviewsService+"---\n"+aliasBomb(50<<10, 300))
	a := newAdapter(t, dir)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	part := load(t, a)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("reading the bomb allocated %d KiB", alloc>>10)
	if alloc > 32<<20 {
		t.Errorf("reading the bomb allocated %d MiB; it should be refused before it expands", alloc>>20)
	}
	if len(part.Services) != 1 {
		t.Errorf("the document beside the bomb should be served, got %+v", part.Services)
	}
	if len(part.Rejections) != 1 {
		t.Fatalf("want one rejection, got %+v", part.Rejections)
	}
	r := part.Rejections[0]
	for _, want := range []string{"expands to more than", "the limit is 16 times the document's size, at most 3.0 MiB"} {
		if r.Source != "bomb.yaml#2" || !strings.Contains(r.Reason, want) {
			t.Errorf("want bomb.yaml#2 refused with %q in the reason, got %s: %s", want, r.Source, r.Reason)
		}
	}
}

// TestLimits: what is over a limit is refused with file, document, limit and size, and the last good
// version of what the file held stays in force.
func TestLimits(t *testing.T) {
	bigAnnotation := func(n int) string {
		return strings.Replace(reviewsService, "metadata: {name: reviews, namespace: default}",
			"metadata: {name: reviews, namespace: default, annotations: {big: "+strings.Repeat("x", n)+"}}", 1)
	}
	// Control characters are one byte in the node tree and six in JSON ("\u0001"): the measure on
	// the tree lets this through, the exact check on the JSON does not.
	escapes := "apiVersion: v1\nkind: Service\nmetadata: {name: reviews}\nx: &x \"" + strings.Repeat(`\x01`, 1000) + "\"\ny: [" +
		strings.TrimPrefix(strings.Repeat(",*x", 20), ",") + "]\n"
	anchors := `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match: [{headers: {end-user: {exact: jason}}}]
    retries: &retries {attempts: 3, perTryTimeout: 2s, retryOn: "5xx,reset,connect-failure"}
    route: [{destination: {host: reviews, subset: v2}}]
  - match: [{headers: {end-user: {exact: kim}}}]
    retries: *retries
    route: [{destination: {host: reviews, subset: v2}}]
  - retries: *retries
    route: [{destination: {host: reviews, subset: v1}}]
`
	cases := []struct {
		name    string
		content string
		sparse  int64 // instead of content, a file of this size full of zeros
		source  string
		reason  string // "" when nothing is refused
	}{
		{name: "file over 4 MiB", sparse: 20 << 20, source: "f.yaml", reason: "file is 20.0 MiB (20971520 bytes); the limit is 4.0 MiB (4194304 bytes)"},
		{name: "document over 1.5 MiB", content: bigAnnotation(2 << 20), source: "f.yaml#1", reason: "document is 2.0 MiB (2097315 bytes); the limit is 1.5 MiB (1572864 bytes)"},
		{name: "document under 1.5 MiB", content: bigAnnotation(1 << 20)},
		{name: "aliases of escapes", content: escapes, source: "f.yaml#1", reason: "document of 4.0 KiB (4129 bytes) expands to 123.2 KiB (126142 bytes) of JSON"},
		{name: "a few aliases", content: anchors},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, "f.yaml", reviewsService)
			a := newAdapter(t, dir)
			load(t, a)
			if tc.sparse > 0 {
				if err := os.Truncate(filepath.Join(dir, "f.yaml"), tc.sparse); err != nil {
					t.Fatal(err)
				}
			} else {
				write(t, dir, "f.yaml", tc.content)
			}
			part := load(t, a)
			if tc.reason == "" {
				if len(part.Rejections) != 0 || len(part.Services)+len(part.VirtualServices) != 1 {
					t.Fatalf("want it accepted, got %+v / %+v", part.Rejections, part)
				}
				return
			}
			if len(part.Rejections) != 1 || part.Rejections[0].Source != tc.source || !strings.Contains(part.Rejections[0].Reason, tc.reason) {
				t.Fatalf("want %s refused with %q, got %+v", tc.source, tc.reason, part.Rejections)
			}
			if servicePort(part) != 9080 || part.Services[0].Hostname != "reviews.default.svc.cluster.local" {
				t.Errorf("the last good Service should stay, got %+v", part.Services)
			}
		})
	}
}

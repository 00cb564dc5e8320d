package e2e

import (
	"os"
	"testing"
)

// TestNetnsBackendProcess is not a test: NetNS.StartBackends re-executes the test binary inside a
// network namespace with this test selected, and it serves the backends there. Run normally, it
// does nothing.
func TestNetnsBackendProcess(t *testing.T) {
	spec := os.Getenv(envNetnsBackends)
	if spec == "" {
		return
	}
	if err := serveNetnsBackends(spec); err != nil {
		t.Fatal(err)
	}
}

// TestNetNS: backends in a namespace answer on the namespace's addresses, which the host routes
// through the veth pair, and everything is gone after the test.
func TestNetNS(t *testing.T) {
	var ns *NetNS
	t.Run("serve", func(t *testing.T) {
		ns = NewNetNS(t)
		backends := ns.StartBackends(9080, map[string]int{"a": 21, "b": 22})
		for _, b := range backends {
			if err := callBackend(b.Addr, b.Name); err != nil {
				t.Fatal(err)
			}
		}
	})
	if ns == nil {
		return
	}
	if out, err := ip("netns", "list"); err != nil || containsWord(out, ns.Name) {
		t.Fatalf("namespace %s left behind: %v\n%s", ns.Name, err, out)
	}
	if out, _ := ip("-4", "route", "show", ns.Prefix.String()); out != "" {
		t.Fatalf("route to %s left behind: %s", ns.Prefix, out)
	}
}

package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// netnsRange is where test namespaces take their addresses: 198.18.0.0/15 is reserved for benchmarking
// (RFC 2544), so no real network uses it, and kube-apiserver accepts it in EndpointSlices (it refuses
// loopback addresses).
var netnsRange = netip.MustParsePrefix("198.18.0.0/15")

const envAllowSkipNetns = "MINIPILOT_ALLOW_SKIP_NETNS"

// NetNS is a network namespace joined to the host by a veth pair on a /24 of its own. Backends run
// inside it, on addresses the host routes through the veth, so tests send real traffic to addresses
// that Kubernetes accepts without touching any network but this one.
type NetNS struct {
	Name   string // the namespace, for `ip netns exec`
	HostIf string // the host end of the veth pair
	PeerIf string // the end inside the namespace
	Prefix netip.Prefix
	t      testing.TB
}

// NewNetNS creates a namespace on a /24 of 198.18.0.0/15 that the host does not route yet, with the
// host end at .1 and the namespace end at .2. It needs root and iproute2; without them the test fails
// (or is skipped if MINIPILOT_ALLOW_SKIP_NETNS=1). Everything is removed when the test ends.
func NewNetNS(t testing.TB) *NetNS {
	t.Helper()
	if msg := netnsUnsupported(); msg != "" {
		if os.Getenv(envAllowSkipNetns) == "1" {
			t.Skip(msg)
		}
		t.Fatalf("%s (set %s=1 to skip instead)", msg, envAllowSkipNetns)
	}
	var lastErr error
	for range 5 {
		prefix, err := freePrefix()
		if err != nil {
			t.Fatalf("netns: %v", err)
		}
		suffix := randomHex(3)
		n := &NetNS{Name: "mpns-" + suffix, HostIf: "mph" + suffix, PeerIf: "mpn" + suffix, Prefix: prefix, t: t}
		if lastErr = n.setUp(); lastErr == nil {
			t.Cleanup(n.tearDown)
			t.Logf("netns %s: host %s (%s) ⇄ %s (%s)", n.Name, n.HostIf, n.Addr(1), n.PeerIf, n.Addr(2))
			return n
		}
		n.tearDown() // most likely another test run took the same /24 meanwhile: try another
	}
	t.Fatalf("netns: could not set up a namespace: %v", lastErr)
	return nil
}

func netnsUnsupported() string {
	if os.Geteuid() != 0 {
		return "netns: creating network namespaces needs root"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "netns: iproute2's ip command is not installed"
	}
	return ""
}

// Addr is the address .host of the namespace's /24.
func (n *NetNS) Addr(host int) string {
	a := n.Prefix.Addr().As4()
	a[3] = byte(host)
	return netip.AddrFrom4(a).String()
}

func (n *NetNS) setUp() error {
	bits := fmt.Sprint(n.Prefix.Bits())
	for _, args := range [][]string{
		{"netns", "add", n.Name},
		{"link", "add", n.HostIf, "type", "veth", "peer", "name", n.PeerIf},
		{"link", "set", n.PeerIf, "netns", n.Name},
		{"addr", "add", n.Addr(1) + "/" + bits, "dev", n.HostIf},
		{"link", "set", n.HostIf, "up"},
		{"-n", n.Name, "addr", "add", n.Addr(2) + "/" + bits, "dev", n.PeerIf},
		{"-n", n.Name, "link", "set", n.PeerIf, "up"},
		{"-n", n.Name, "link", "set", "lo", "up"},
	} {
		if _, err := ip(args...); err != nil {
			return err
		}
	}
	// Exactly one route for the /24, ours: another run that picked the same /24 at the same moment
	// would show as a second one.
	routes, err := ip("-4", "route", "show", n.Prefix.String())
	if err != nil {
		return err
	}
	if lines := strings.Split(strings.TrimSpace(routes), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "dev "+n.HostIf) {
		return fmt.Errorf("%s is routed elsewhere too:\n%s", n.Prefix, routes)
	}
	return n.checkRoute(2)
}

// AddAddrs gives the namespace end more addresses of its /24 (.host each), and checks that the host
// routes each of them through the veth pair.
func (n *NetNS) AddAddrs(hosts ...int) {
	n.t.Helper()
	for _, h := range hosts {
		if _, err := ip("-n", n.Name, "addr", "add", n.Addr(h)+"/"+fmt.Sprint(n.Prefix.Bits()), "dev", n.PeerIf); err != nil {
			n.t.Fatalf("netns: %v", err)
		}
		if err := n.checkRoute(h); err != nil {
			n.t.Fatalf("netns: %v", err)
		}
	}
}

// checkRoute makes sure traffic to .host leaves through the veth pair and nowhere else.
func (n *NetNS) checkRoute(host int) error {
	out, err := ip("route", "get", n.Addr(host))
	if err != nil {
		return err
	}
	if !strings.Contains(out, "dev "+n.HostIf+" ") {
		return fmt.Errorf("the host does not route %s through %s, refusing to send traffic there: %s",
			n.Addr(host), n.HostIf, strings.TrimSpace(out))
	}
	return nil
}

func (n *NetNS) tearDown() {
	// Deleting the namespace destroys the peer, and with it the host end, but asynchronously: the
	// host end is deleted first so that its route is gone when this returns.
	_, _ = ip("link", "del", n.HostIf)
	_, _ = ip("netns", "del", n.Name)
}

// freePrefix picks a /24 of netnsRange, from a random start, that no route or address of the host
// overlaps.
func freePrefix() (netip.Prefix, error) {
	used, err := hostPrefixes()
	if err != nil {
		return netip.Prefix{}, err
	}
	count := 1 << (24 - netnsRange.Bits())
	start, err := rand.Int(rand.Reader, big.NewInt(int64(count)))
	if err != nil {
		return netip.Prefix{}, err
	}
	base := netnsRange.Addr().As4()
	for i := range count {
		k := (int(start.Int64()) + i) % count
		a := base
		a[1] += byte(k >> 8)
		a[2] = byte(k)
		candidate := netip.PrefixFrom(netip.AddrFrom4(a), 24)
		free := true
		for _, u := range used {
			if u.Overlaps(candidate) {
				free = false
				break
			}
		}
		if free {
			return candidate, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("every /24 of %s is routed already", netnsRange)
}

// hostPrefixes lists what the host routes (all tables, default routes aside) and its addresses.
func hostPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	routes, err := ip("-4", "-o", "route", "show", "table", "all")
	if err != nil {
		return nil, err
	}
	addrs, err := ip("-4", "-o", "addr", "show")
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(routes, "\n") {
		fields := strings.Fields(line)
		if len(fields) > 1 && isRouteType(fields[0]) {
			fields = fields[1:]
		}
		if len(fields) == 0 || fields[0] == "default" {
			continue
		}
		if p, ok := parsePrefix(fields[0]); ok {
			out = append(out, p)
		}
	}
	for _, line := range strings.Split(addrs, "\n") {
		fields := strings.Fields(line)
		for i, f := range fields {
			if f == "inet" && i+1 < len(fields) {
				if p, ok := parsePrefix(fields[i+1]); ok {
					out = append(out, p.Masked())
				}
			}
		}
	}
	return out, nil
}

func isRouteType(s string) bool {
	switch s {
	case "local", "broadcast", "unicast", "multicast", "anycast", "blackhole", "unreachable", "prohibit", "throw", "nat":
		return true
	}
	return false
}

func parsePrefix(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p, true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

func ip(args ...string) (string, error) {
	var out, errOut bytes.Buffer
	cmd := exec.Command("ip", args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

package load

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/xds/adsc/lite"
)

func TestSummarizeNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := summarize(ds)
	want := Latencies{Count: 100, P50: 50 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}
	if got != want {
		t.Errorf("summarize: %+v, want %+v", got, want)
	}
	if one := summarize([]time.Duration{7}); one.P50 != 7 || one.P99 != 7 || one.Max != 7 {
		t.Errorf("one value: %+v", one)
	}
	if summarize(nil) != (Latencies{}) {
		t.Error("no values: want zero")
	}
}

func TestFleetIdentities(t *testing.T) {
	spec := FleetSpec{Proxies: 600, Namespaces: 3, LabelSets: 200}
	seenIP, seenID := map[string]bool{}, map[string]bool{}
	hashes := map[string]string{}
	for i := range spec.Proxies {
		p := spec.Proxy(i)
		parsed, err := model.ParseNodeID(p.ID)
		if err != nil || parsed.IPAddress != p.IP || parsed.Namespace != p.Namespace {
			t.Fatalf("proxy %d: node ID %q: %v %+v", i, p.ID, err, parsed)
		}
		if seenIP[p.IP] || seenID[p.ID] {
			t.Fatalf("proxy %d repeats an address or ID: %s", i, p.ID)
		}
		seenIP[p.IP], seenID[p.ID] = true, true
		// Replicas of one label set share labels, namespace and pod-template-hash, as a Deployment's do.
		key := p.Labels["app"]
		if h, ok := hashes[key]; ok && h != p.Labels["pod-template-hash"]+p.Namespace {
			t.Fatalf("proxy %d: label set %s changed its hash or namespace", i, key)
		}
		hashes[key] = p.Labels["pod-template-hash"] + p.Namespace
		if !strings.HasPrefix(p.Pod, key+"-"+p.Labels["pod-template-hash"]+"-") {
			t.Fatalf("proxy %d: pod %s is not named like a Deployment's replica", i, p.Pod)
		}
		md := p.Metadata(map[string]string{"ISTIO_VERSION": "1.31.0"})
		if md["NAMESPACE"] != p.Namespace || md["ISTIO_VERSION"] != "1.31.0" || md["LABELS"].(map[string]any)["app"] != key {
			t.Fatalf("proxy %d: metadata %v", i, md)
		}
	}
	if len(hashes) != 200 {
		t.Errorf("%d label sets, want 200", len(hashes))
	}
	if spec.Proxy(5).ID != (FleetSpec{Proxies: 600, Namespaces: 3, LabelSets: 200}).Proxy(5).ID {
		t.Error("identities must be deterministic")
	}
}

func marshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMarkers: the markers match the resources as a deterministic marshaller writes them, and only
// the exact address or weight.
func TestMarkers(t *testing.T) {
	cla := func(ips ...string) []byte {
		var eps []*endpointv3.LbEndpoint
		for _, ip := range ips {
			eps = append(eps, &endpointv3.LbEndpoint{HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
				Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
					Address: ip, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 8080}}}}}}})
		}
		return marshal(t, &endpointv3.ClusterLoadAssignment{ClusterName: "c", Endpoints: []*endpointv3.LocalityLbEndpoints{{LbEndpoints: eps}}})
	}
	if !bytes.Contains(cla("10.0.0.2", "10.255.0.1"), addressMarker("10.255.0.1")) {
		t.Error("the address marker must match its endpoint")
	}
	if bytes.Contains(cla("10.255.0.10"), addressMarker("10.255.0.1")) {
		t.Error("the address marker must not match a longer address")
	}
	rc := func(w1, w2 uint32) []byte {
		return marshal(t, &routev3.RouteConfiguration{Name: "8080", VirtualHosts: []*routev3.VirtualHost{{Name: "h", Domains: []string{"h"},
			Routes: []*routev3.Route{{Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
				Action: &routev3.Route_Route{Route: &routev3.RouteAction{ClusterSpecifier: &routev3.RouteAction_WeightedClusters{
					WeightedClusters: &routev3.WeightedCluster{Clusters: []*routev3.WeightedCluster_ClusterWeight{
						{Name: "outbound|8080|v1|h", Weight: wrapperspb.UInt32(w1)},
						{Name: "outbound|8080|v2|h", Weight: wrapperspb.UInt32(w2)}}}}}}}}}}})
	}
	if !bytes.Contains(rc(10, 90), weightMarker("outbound|8080|v1|h", 10)) {
		t.Error("the weight marker must match its destination's weight")
	}
	if bytes.Contains(rc(90, 10), weightMarker("outbound|8080|v1|h", 10)) {
		t.Error("the weight marker must not match another destination's weight")
	}
}

func TestProbeStates(t *testing.T) {
	p := &Probe{TypeURL: typeURLs[eds], Name: []byte("|a"), Marker: []byte("X")}
	ps := probes{}
	resp := func(full bool, res ...string) *lite.Response {
		r := &lite.Response{TypeURL: typeURLs[eds], Full: full}
		for _, s := range res {
			name, body, _ := strings.Cut(s, "=")
			r.Resources = append(r.Resources, lite.Resource{Name: []byte(name), Body: []byte(body)})
		}
		return r
	}
	present := []Expect{{Probe: p, Present: true}}
	absent := []Expect{{Probe: p, Present: false}}
	if !ps.holds(absent) || ps.holds(present) {
		t.Fatal("a probe that saw nothing sees no marker")
	}
	ps.apply([]*Probe{p}, resp(false, "out|a=..X..", "out|b=X"))
	if !ps.holds(present) {
		t.Error("the marker in a selected resource is present")
	}
	ps.apply([]*Probe{p}, resp(false, "out|b=none"))
	if !ps.holds(present) {
		t.Error("a response of another resource keeps what the probe saw (endpoint updates hold only what changed)")
	}
	ps.apply([]*Probe{p}, resp(false, "out|a=gone"))
	if !ps.holds(absent) {
		t.Error("a new version without the marker makes it absent")
	}
	ps.apply([]*Probe{p}, resp(false, "out|a=X"))
	ps.apply([]*Probe{p}, resp(true, "out|b=X"))
	if !ps.holds(absent) {
		t.Error("a full set without the resource removes it")
	}
	ps.apply([]*Probe{p}, resp(false, "out|a=X"))
	removal := resp(false)
	removal.Removed = [][]byte{[]byte("out|a")}
	ps.apply([]*Probe{p}, removal)
	if !ps.holds(absent) {
		t.Error("a removed resource is gone (Delta)")
	}
}

func TestProcSample(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "42")
	if err := os.MkdirAll(filepath.Join(dir, "fd"), 0o755); err != nil {
		t.Fatal(err)
	}
	stat := "42 (pilot discovery) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0 100 1000000 2000 18446744073709551615\n"
	status := "Name:\tpilot-discovery\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t12\n"
	write(t, filepath.Join(dir, "stat"), stat)
	write(t, filepath.Join(dir, "status"), status)
	s, err := Proc{Root: root, PID: 42}.Sample()
	if err != nil {
		t.Fatal(err)
	}
	if s.CPU != 3*time.Second || s.RSS != 100<<20 || s.HWM != 200<<20 {
		t.Errorf("sample %+v: want 3 s CPU (300 ticks), 100 MiB resident, 200 MiB peak", s)
	}

	// The process listening on 127.0.0.1:15010 (0x3AA2) holds socket inode 777.
	write(t, filepath.Join(root, "net", "tcp"), "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"+
		"   0: 0100007F:3AA3 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0000000000000000 100 0 0 10 0\n"+
		"   1: 0100007F:3AA2 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0\n")
	if err := os.Symlink("socket:[777]", filepath.Join(dir, "fd", "7")); err != nil {
		t.Fatal(err)
	}
	pid, err := FindListener(root, "127.0.0.1:15010")
	if err != nil || pid != 42 {
		t.Errorf("FindListener: %d, %v; want 42", pid, err)
	}
	if _, err := FindListener(root, "127.0.0.1:15012"); err == nil {
		t.Error("a port nothing listens on must not be found")
	}
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReportIsDeterministic(t *testing.T) {
	lat := Latencies{Count: 2, P50: 12 * time.Millisecond, P99: 1500 * time.Millisecond, Max: 1500 * time.Millisecond}
	r := Report{Setup: Setup{Mesh: "m", Sidecars: 2, Namespaces: 1, LabelSets: 1, Client: "cheap", ServerPID: 9},
		Connect: ConnectResult{Streams: 2, Configured: 2, Received: lat, Acked: lat},
		Scenarios: []ScenarioResult{{Name: EndpointFlap, Received: lat, Acked: lat,
			Changes: []ChangeResult{{Index: 1, What: "add", Streams: 2, Converged: 2, Received: lat, Acked: lat,
				Sent: TypeCounts{EDS: TypeCount{Responses: 2, Bytes: 3 << 20}}}}}}}
	var a, b bytes.Buffer
	if err := r.WriteText(&a); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteText(&b); err != nil || a.String() != b.String() {
		t.Fatal("two writes of one report differ")
	}
	for _, want := range []string{"12ms / 1.50s / 1.50s", "2 (3.0 MiB)", "2/2"} {
		if !strings.Contains(a.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, a.String())
		}
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil || !strings.Contains(js.String(), `"p99Ms": 1500`) {
		t.Errorf("JSON: %v\n%s", err, js.String())
	}
}

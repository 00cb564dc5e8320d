package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/minipilot/minipilot/xds/adsc"
)

// operatorNode is the sidecar the operator tests look at: productpage's, in bookinfo.
const operatorNode = "sidecar~127.0.0.10~productpage-v1.default~default.svc.cluster.local"

// bookinfoDir copies examples/bookinfo's manifests into a directory a test may edit.
func bookinfoDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"services.yaml", "workloads.yaml", "destination-rules.yaml", "routing.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "bookinfo", f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, f), string(b))
	}
	return dir
}

// connectSidecar connects the project's Envoy-like client as a node, and keeps reading what it is
// sent (it ACKs every valid response) until the test ends.
func connectSidecar(t *testing.T, addr, node string, meta map[string]any) {
	t.Helper()
	connectClient(t, addr, adsc.Options{NodeID: node, Metadata: meta})
}

// connectClient connects the Envoy-like client with any options (one that refuses some types, say).
func connectClient(t *testing.T, addr string, opts adsc.Options) {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); conn.Close() })
	c, err := adsc.Dial(ctx, conn, opts)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for range c.Responses() {
		}
	}()
}

// ctl runs pilotctl against a pilot and returns its output; a non-zero exit fails the test.
func ctl(t *testing.T, p *Pilot, args ...string) string {
	t.Helper()
	out, err := ctlCode(t, p, args...)
	if err != nil {
		t.Fatalf("pilotctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func ctlCode(t *testing.T, p *Pilot, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(Pilotctl(t), args...)
	cmd.Env = append(os.Environ(), "PILOTCTL_ADDR="+p.HTTPAddr)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// eventuallyCtl reruns pilotctl until its output matches.
func eventuallyCtl(t *testing.T, p *Pilot, want *regexp.Regexp, args ...string) string {
	t.Helper()
	var out string
	Eventually(t, 20*time.Second, "pilotctl "+strings.Join(args, " ")+" to match "+want.String(), func() error {
		var err error
		out, err = ctlCode(t, p, args...)
		if err == nil && !want.MatchString(out) {
			err = fmt.Errorf("got:\n%s", out)
		}
		return err
	})
	return out
}

var synced = regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(operatorNode) + `\s+default\s+SotW\s+SYNCED\s+SYNCED\s+SYNCED\s+SYNCED\s`)

// TestPilotctlAgainstTheFileAdapter drives every pilotctl command against pilot serving bookinfo
// from files, with an Envoy-like sidecar connected: proxy-status, proxy-config, a preview of a
// weight change that then appears, once applied, as the same diff in the proxy's config, and the
// trace of that push.
func TestPilotctlAgainstTheFileAdapter(t *testing.T) {
	dir := bookinfoDir(t)
	p := StartPilot(t, "--config-dir", dir)
	connectSidecar(t, p.GRPCAddr, operatorNode, map[string]any{"NAMESPACE": "default"})

	// A second sidecar refuses its routes: ERROR, with the proxy's message in -o wide.
	const refusing = "sidecar~127.0.0.31~ratings-v1.default~default.svc.cluster.local"
	connectClient(t, p.GRPCAddr, adsc.Options{NodeID: refusing, Reject: func(typeURL string, _ []proto.Message) error {
		if strings.HasSuffix(typeURL, "RouteConfiguration") {
			return errors.New("route config refused by the test")
		}
		return nil
	}})
	status := eventuallyCtl(t, p, synced, "proxy-status")
	t.Logf("pilotctl proxy-status:\n%s", status)
	eventuallyCtl(t, p, regexp.MustCompile(regexp.QuoteMeta(refusing)+`\s+default\s+SotW\s+SYNCED\s+SYNCED\s+SYNCED\s+ERROR\s.*RDS: .*route config refused by the test`),
		"proxy-status", "-o", "wide")
	if out := ctl(t, p, "proxy-status", "productpage-v1.default"); strings.Count(out, " match (") != 4 {
		t.Errorf("proxy-status <node> of a synced proxy: want all four types to match:\n%s", out)
	}

	clusters := ctl(t, p, "proxy-config", "clusters", "productpage-v1.default")
	if !regexp.MustCompile(`reviews\.default\.svc\.cluster\.local\s+9080\s+v2\s+outbound\s+EDS`).MatchString(clusters) {
		t.Errorf("proxy-config clusters lacks reviews' v2 subset:\n%s", clusters)
	}
	routes := ctl(t, p, "proxy-config", "routes", operatorNode)
	if !strings.Contains(routes, "outbound|9080|v1|reviews.default.svc.cluster.local 80, outbound|9080|v2|reviews.default.svc.cluster.local 20") {
		t.Errorf("proxy-config routes lacks the 80/20 split:\n%s", routes)
	}
	if out := ctl(t, p, "proxy-config", "endpoints", operatorNode); !regexp.MustCompile(`127\.0\.0\.21:9080\s+HEALTHY`).MatchString(out) {
		t.Errorf("proxy-config endpoints lacks reviews-v1:\n%s", out)
	}
	if out := ctl(t, p, "proxy-config", "listeners", operatorNode, "-o", "yaml"); !strings.Contains(out, "name: 0.0.0.0_9080") {
		t.Errorf("proxy-config listeners -o yaml lacks 0.0.0.0_9080:\n%s", out)
	}
	before := filepath.Join(t.TempDir(), "before.json")
	if err := os.WriteFile(before, []byte(ctl(t, p, "proxy-config", "dump", operatorNode)), 0o644); err != nil {
		t.Fatal(err)
	}

	// A weight change, previewed, then applied.
	routing, err := os.ReadFile(filepath.Join(dir, "routing.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(strings.Replace(string(routing), "weight: 80", "weight: 50", 1), "weight: 20", "weight: 50", 1)
	change := filepath.Join(t.TempDir(), "change.yaml")
	if err := os.WriteFile(change, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	preview := ctl(t, p, "preview", "-f", change, "--node", operatorNode)
	t.Logf("pilotctl preview:\n%s", preview)
	if !strings.Contains(preview, `~ route config "9080" changed`) || !strings.Contains(preview, `-                   "weight": 80`) ||
		strings.Count(preview, "changed\n") != 1 {
		t.Fatalf("preview of a weight change: want one route config changed from 80:\n%s", preview)
	}
	status = ctl(t, p, "trace")
	writeFile(t, filepath.Join(dir, "routing.yaml"), changed)
	eventuallyCtl(t, p, regexp.MustCompile(`v1\|reviews\.default\.svc\.cluster\.local 50,`), "proxy-config", "routes", operatorNode)
	eventuallyCtl(t, p, synced, "proxy-status")
	applied := ctl(t, p, "proxy-config", "all", operatorNode, "--diff", before)
	if body(applied) != body(preview) {
		t.Errorf("the diff once applied differs from the preview:\npreview:\n%s\napplied:\n%s", preview, applied)
	}

	assertIstioMetrics(t, p)

	trace := eventuallyCtl(t, p, regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(operatorNode)+`\s+\d+\s+RDS\s+\+\S+\s+\+\S+\s+\+\S+`), "trace")
	t.Logf("pilotctl trace:\n%s", trace)
	if trace == status || !strings.Contains(trace, "(config change)") {
		t.Errorf("trace did not move to the new push:\nbefore: %s\nafter: %s", status, trace)
	}
}

// body drops a diff's first line (which says what it compares).
func body(diff string) string {
	_, rest, _ := strings.Cut(diff, "\n")
	return rest
}

// TestIstioctlAgainstMinipilot runs the real istioctl (bin/istioctl, built by make from the pinned
// istio.io/istio) against pilot: proxy-status over xDS lists the proxy SYNCED for every type,
// proxy-status <pod> compares pilot's debug config dump with the proxy's, and proxy-config reads
// pilot's /debug/config_dump as it reads an Envoy's.
func TestIstioctlAgainstMinipilot(t *testing.T) {
	istioctl := IstioFile(t, "istioctl")
	p := StartPilot(t, "--config-dir", bookinfoDir(t))
	connectSidecar(t, p.GRPCAddr, operatorNode, map[string]any{"NAMESPACE": "default", "ISTIO_VERSION": "1.31.0", "CLUSTER_ID": "Kubernetes"})
	eventuallyCtl(t, p, synced, "proxy-status")

	// istioctl wants a kubeconfig even when it only talks xDS; this one is never contacted.
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(unusedKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(istioctl, append(args, "--kubeconfig", kubeconfig)...)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("istioctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// --revision: otherwise istioctl looks the default revision up in the cluster.
	xds := []string{"--xds-address", p.GRPCAddr, "--plaintext", "--revision", "default"}
	status := run(append([]string{"proxy-status", "--verbosity", "1"}, xds...)...)
	t.Logf("istioctl proxy-status --verbosity 1:\n%s", status)
	// Columns CDS, ECDS (which minipilot does not serve: IGNORED), EDS, LDS, RDS.
	row := regexp.QuoteMeta(operatorNode) + `\s+Kubernetes\s+SYNCED \(\S+\)\s+IGNORED\s+SYNCED \(\S+\)\s+SYNCED \(\S+\)\s+SYNCED \(\S+\)\s+\S+\s+1\.31\.0`
	if !regexp.MustCompile(row).MatchString(status) {
		t.Errorf("istioctl proxy-status does not list the proxy SYNCED for CDS, LDS, EDS and RDS:\n%s", status)
	}
	if out := run(append([]string{"proxy-status"}, xds...)...); !strings.Contains(out, "4 (CDS,LDS,EDS,RDS)") {
		t.Errorf("istioctl proxy-status: want the proxy subscribed to 4 types:\n%s", out)
	}

	dump, err := p.Get("/debug/config_dump?node=" + operatorNode)
	if err != nil {
		t.Fatal(err)
	}
	dumpFile := filepath.Join(t.TempDir(), "config_dump.json")
	if err := os.WriteFile(dumpFile, dump, 0o644); err != nil {
		t.Fatal(err)
	}
	diff := run(append([]string{"proxy-status", "productpage-v1.default", "--file", dumpFile}, xds...)...)
	t.Logf("istioctl proxy-status <pod> --file:\n%s", diff)
	for _, want := range []string{"Clusters Match", "Listeners Match", "Routes Match"} {
		if !strings.Contains(diff, want) {
			t.Errorf("istioctl proxy-status <pod>: want %q:\n%s", want, diff)
		}
	}
	clusters := run("proxy-config", "clusters", "--file", dumpFile)
	if !regexp.MustCompile(`reviews\.default\.svc\.cluster\.local\s+9080\s+v2\s+outbound\s+EDS`).MatchString(clusters) {
		t.Errorf("istioctl proxy-config clusters lacks reviews' v2 subset:\n%s", clusters)
	}
	if routes := run("proxy-config", "routes", "--file", dumpFile); !bytes.Contains([]byte(routes), []byte("reviews.default.svc.cluster.local")) {
		t.Errorf("istioctl proxy-config routes lacks reviews:\n%s", routes)
	}
}

const unusedKubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: none, user: {token: none}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
`

// assertIstioMetrics scrapes pilot's /metrics, as Istio's Control Plane dashboard would, after a
// config push: each metric it plots is there under Istio's name and has moved.
func assertIstioMetrics(t *testing.T, p *Pilot) {
	t.Helper()
	body, err := p.Get("/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, series := range []string{`pilot_xds{version=""}`, `pilot_xds_pushes{type="rds"}`, `pilot_push_triggers{type="config"}`,
		`pilot_proxy_convergence_time_count`, `pilot_xds_push_time_count{type="cds"}`, `pilot_debounce_time_count`,
		`pilot_xds_config_size_bytes_count{type="type.googleapis.com/envoy.config.route.v3.RouteConfiguration"}`,
		`pilot_services`, `pilot_virt_services`, `istio_build{component="pilot",tag="*"}`} {
		pattern := strings.Replace(regexp.QuoteMeta(series), `\*`, `[^"]+`, 1) // the tag is the build's version
		m := regexp.MustCompile(`(?m)^` + pattern + ` (\S+)$`).FindStringSubmatch(string(body))
		if m == nil || m[1] == "0" {
			t.Errorf("/metrics: %s is missing or 0", series)
		}
	}
}

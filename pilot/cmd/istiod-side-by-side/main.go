// Command istiod-side-by-side runs istiod and minipilot against one real kube-apiserver holding one
// generated mesh, and prints where each serves, so that the same load client can be pointed at
// either (docs/benchmarks.md, "Side by side with istiod"):
//
//	make build istio-bins kube-bins
//	go run ./pilot/cmd/istiod-side-by-side --services 200 --endpoints 10
//	xds-load --addr <the xDS address it prints> --proxies 500
//
// It runs until interrupted (Ctrl-C, SIGTERM), then stops everything; logs stay in --dir.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/minipilot/minipilot/adapters/kube/kubefixture"
	"github.com/minipilot/minipilot/adapters/kube/kubetest"
	"github.com/minipilot/minipilot/model/modeltest"
	"github.com/minipilot/minipilot/pilot/e2e"
)

func main() {
	services := flag.Int("services", 200, "services in the generated mesh")
	endpoints := flag.Int("endpoints", 10, "endpoints (pods) per service, at most 254")
	namespaces := flag.Int("namespaces", 10, "namespaces the services are spread over")
	planes := flag.String("control-planes", "istiod,minipilot", "which to run: istiod, minipilot or both")
	pilotBin := flag.String("pilot", "bin/pilot-discovery", "minipilot's binary (`make build`)")
	rps := flag.Int("istiod-max-requests-per-second", e2e.IstiodRequestsPerSecond,
		"istiod's PILOT_MAX_REQUESTS_PER_SECOND (new xDS streams admitted per second); -1 keeps istiod's default, 25/s on 2 cores")
	dir := flag.String("dir", "", "directory for the logs, kubeconfig and etcd data (default: a new one under $TMPDIR, kept)")
	flag.Parse()

	want := strings.Split(*planes, ",")
	for _, p := range want {
		if p != "istiod" && p != "minipilot" {
			fail(fmt.Errorf("--control-planes: unknown %q (istiod, minipilot)", p))
		}
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "istiod-side-by-side-")
		if err != nil {
			fail(err)
		}
		*dir = d
	}
	bin, err := filepath.Abs(*pilotBin)
	if err != nil {
		fail(err)
	}
	if slices.Contains(want, "minipilot") {
		if _, err := os.Stat(bin); err != nil {
			fail(fmt.Errorf("%s: %v (run `make build`)", bin, err))
		}
	}
	mesh := modeltest.MeshSpec{Services: *services, Endpoints: *endpoints, Namespaces: *namespaces, Rules: modeltest.RulesOne}

	h := newHarness(*dir)
	ok := h.run(func() {
		c := kubetest.Start(h)
		if slices.Contains(want, "istiod") {
			e2e.PrepareIstio(h, c) // Istio's own CRDs (make istio-bins), which minipilot serves too
		} else {
			kubefixture.InstallCRDs(h, c) // minipilot's alone: no Istio build needed
			kubefixture.Namespace(h, kubefixture.Client(h, c), e2e.IstiodNamespace)
		}
		e2e.ApplyMesh(h, c, mesh)
		fmt.Printf("kube-apiserver  %s\n  KUBECONFIG=%s\n", c.Config.Host, c.Kubeconfig)
		if slices.Contains(want, "istiod") {
			d := e2e.StartIstiod(h, c, e2e.IstiodOptions{RequestsPerSecond: *rps, Dir: h.TempDir()})
			fmt.Printf("istiod          xDS %s  debug http://%s/debug  metrics http://%s/metrics  pid %d\n  log %s\n",
				d.XDSAddr, d.DebugAddr, d.MonitoringAddr, d.PID(), d.LogPath)
		}
		if slices.Contains(want, "minipilot") {
			p := startMinipilot(h, bin, c.Kubeconfig)
			fmt.Printf("minipilot       xDS %s  debug http://%s/debug  metrics http://%s/metrics  pid %d\n  log %s\n",
				p.XDSAddr, p.DebugAddr, p.DebugAddr, p.cmd.Process.Pid, p.LogPath)
		}
		fmt.Printf("mesh            %d services × %d endpoints in %d namespaces, a VirtualService and a DestinationRule for %s\n",
			mesh.Services, mesh.Endpoints, len(mesh.NamespaceNames()), mesh.Host(0))
		fmt.Println("serving; Ctrl-C stops everything")
		signals := make(chan os.Signal, 1)
		signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
		<-signals
		fmt.Println("stopping")
	})
	if !ok {
		fmt.Fprintf(os.Stderr, "istiod-side-by-side: failed; logs in %s\n", *dir)
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "istiod-side-by-side:", err)
	os.Exit(2)
}

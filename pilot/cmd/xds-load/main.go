// Command xds-load measures a running xDS server (pilot-discovery, or istiod) under many sidecars:
// it connects Envoy-like ADS clients spread over namespaces and label sets, reports how long they
// took to get a full config, then runs churn scenarios (an endpoint flapping, a VirtualService
// weight flip, services added) against the mesh the server serves, from a directory or a cluster,
// and reports per change how long it took to reach every sidecar, what it made the server send, and
// the server's CPU and memory.
//
//	xds-load --write-mesh /tmp/mesh --services 200 --endpoints 10 --rules one
//	pilot-discovery --config-dir /tmp/mesh &
//	xds-load --config-dir /tmp/mesh --services 200 --endpoints 10 --rules one \
//	    --proxies 500 --label-sets 200 --scenario endpoint-flap,vs-edit --changes 5
//
// The scenario flags must describe the mesh the server serves (the same --services, --endpoints,
// --namespaces and --rules it was written with); the tool checks that before changing anything.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/minipilot/minipilot/adapters/kube/kubemesh"
	"github.com/minipilot/minipilot/model/modeltest"
	"github.com/minipilot/minipilot/xds/adsc/lite"
	"github.com/minipilot/minipilot/xds/adsc/load"
)

// flags are the command line.
type flags struct {
	addr       string
	spec       modeltest.MeshSpec
	fleet      load.FleetSpec
	full       bool
	delta      bool
	validating int
	metadata   []string

	writeMesh, writeKube  string
	configDir, kubeconfig string

	scenarios      string
	changes        int
	settle         time.Duration
	changeTimeout  time.Duration
	connectTimeout time.Duration
	serverPID      int
	json           bool
	cpuProfile     string
}

func parse(args []string, errOut io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("xds-load", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:15010", "the xDS server's gRPC address")
	fs.IntVar(&f.fleet.Proxies, "proxies", 100, "sidecars to connect, each its own gRPC connection and ADS stream")
	fs.IntVar(&f.fleet.Namespaces, "namespaces", 10, "namespaces of the mesh's services and of the sidecars")
	fs.IntVar(&f.fleet.LabelSets, "label-sets", 10, "label sets (Deployments) the sidecars spread over: app, version, pod-template-hash")
	fs.BoolVar(&f.delta, "delta", false, "every sidecar speaks Delta xDS (xds/adsc, decoding and validating), as Istio's sidecars do by default")
	fs.BoolVar(&f.full, "full", false, "every sidecar decodes and validates every resource as Envoy does (xds/adsc), instead of the cheap client")
	fs.IntVar(&f.validating, "validating", 0, "this many sidecars, spread over the fleet, run the full client while the rest stay cheap")
	fs.Func("node-metadata", "KEY=VALUE added to every node's metadata (repeatable), e.g. ISTIO_VERSION=1.31.0", func(s string) error {
		if !strings.Contains(s, "=") {
			return fmt.Errorf("%q is not KEY=VALUE", s)
		}
		f.metadata = append(f.metadata, s)
		return nil
	})
	fs.IntVar(&f.spec.Services, "services", 1000, "services in the mesh")
	fs.IntVar(&f.spec.Endpoints, "endpoints", 10, "endpoints per service")
	rules := fs.String("rules", string(modeltest.RulesEach), "routing rules: each (a DestinationRule and VirtualService per service), one (svc-0's only), none")
	fs.StringVar(&f.writeMesh, "write-mesh", "", "write the mesh as manifests into this (new or empty) directory, for pilot-discovery --config-dir, and exit")
	fs.StringVar(&f.writeKube, "write-kube", "", "write the mesh into the cluster of this kubeconfig (the networking.istio.io CRDs installed) and exit")
	fs.StringVar(&f.configDir, "config-dir", "", "the directory the server serves (written by --write-mesh): scenarios change its files")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "the cluster the server serves (written by --write-kube): scenarios change its objects")
	fs.StringVar(&f.scenarios, "scenario", "", "comma-separated churn scenarios to run after connecting: "+strings.Join(load.ScenarioNames(), ", "))
	fs.IntVar(&f.changes, "changes", 5, "changes per scenario")
	fs.DurationVar(&f.settle, "settle", 2*time.Second, "wait after a change has reached every sidecar (and before the first), counting what is still sent")
	fs.DurationVar(&f.changeTimeout, "change-timeout", time.Minute, "give up waiting for one change to reach every sidecar after this long")
	fs.DurationVar(&f.connectTimeout, "connect-timeout", 2*time.Minute, "give up waiting for every sidecar's full config after this long")
	fs.IntVar(&f.serverPID, "server-pid", 0, "the server's process, for CPU and memory (default: the process listening on --addr, if this user may see it)")
	fs.BoolVar(&f.json, "json", false, "print the report as JSON")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write the load tool's own CPU profile to this file (to tell its cost from the server's)")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	f.spec.Rules, f.spec.Namespaces = modeltest.Rules(*rules), f.fleet.Namespaces
	if err := f.spec.Check(); err != nil {
		return f, err
	}
	if f.scenarios != "" && (f.configDir == "") == (f.kubeconfig == "") {
		return f, errors.New("a scenario changes the mesh: give --config-dir or --kubeconfig (one of them)")
	}
	return f, nil
}

func main() {
	f, err := parse(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch {
	case f.writeMesh != "":
		if _, err := modeltest.WriteDir(f.writeMesh, f.spec.Objects()); err != nil {
			fail(err)
		}
		fmt.Printf("wrote %s to %s\n", describe(f.spec), f.writeMesh)
	case f.writeKube != "":
		w, err := kubemesh.FromKubeconfig(f.writeKube)
		if err != nil {
			fail(err)
		}
		if err := w.Setup(ctx, f.spec.NamespaceNames(), f.spec.Objects()); err != nil {
			fail(err)
		}
		fmt.Printf("wrote %s to the cluster of %s\n", describe(f.spec), f.writeKube)
	default:
		stopProfile := func() {}
		if f.cpuProfile != "" {
			var err error
			if stopProfile, err = profileCPU(f.cpuProfile); err != nil {
				fail(err)
			}
		}
		report, err := run(ctx, f)
		stopProfile()
		if werr := write(report, f.json); werr != nil && err == nil {
			err = werr
		}
		if err != nil {
			fail(err)
		}
	}
}

// run connects the fleet and runs the scenarios.
func run(ctx context.Context, f flags) (load.Report, error) {
	writer, source, err := mesh(ctx, f)
	if err != nil {
		return load.Report{}, err
	}
	var scenarios []load.Scenario
	if f.scenarios != "" {
		for _, name := range strings.Split(f.scenarios, ",") {
			sc, err := load.NewScenario(strings.TrimSpace(name), f.spec)
			if err != nil {
				return load.Report{}, err
			}
			scenarios = append(scenarios, sc)
		}
	}
	opts := load.Options{Addr: f.addr, Fleet: f.fleet, Validating: f.validating, ConnectTimeout: f.connectTimeout,
		Server: load.Proc{Root: "/proc", PID: f.serverPID}, Self: load.Proc{Root: "/proc", PID: os.Getpid()}}
	opts.Fleet.Metadata = map[string]string{}
	for _, kv := range f.metadata {
		k, v, _ := strings.Cut(kv, "=")
		opts.Fleet.Metadata[k] = v
	}
	client := "cheap"
	switch {
	case f.delta:
		opts.Dial, client = load.DeltaDialer, "Delta (validating)"
	case f.full:
		opts.Dial, client = load.FullDialer, "full (validating)"
	default:
		opts.Dial = load.LiteDialer(lite.NewNameCache())
	}
	if opts.Server.PID == 0 {
		if pid, err := load.FindListener("/proc", f.addr); err == nil {
			opts.Server.PID = pid
		} else {
			fmt.Fprintf(os.Stderr, "xds-load: not sampling the server: %v\n", err)
		}
	}
	report := load.Report{Setup: load.Setup{Sidecars: f.fleet.Proxies, Namespaces: f.fleet.Namespaces, LabelSets: f.fleet.LabelSets,
		Client: client, Validating: f.validating, ServerPID: opts.Server.PID, Source: source}}
	if writer != nil {
		report.Setup.Mesh = describe(f.spec)
	}
	fleet, res, err := load.Connect(ctx, opts)
	report.Connect = res
	if err != nil {
		return report, err
	}
	defer fleet.Close()
	var errs []error
	for _, sc := range scenarios {
		sr, err := fleet.Churn(ctx, sc, load.ChurnOptions{Writer: writer, Changes: f.changes, Settle: f.settle, Timeout: f.changeTimeout})
		report.Scenarios = append(report.Scenarios, sr)
		if err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
	}
	return report, errors.Join(errs...)
}

// mesh opens what scenarios change, checking it holds the mesh the flags describe.
func mesh(ctx context.Context, f flags) (load.Writer, string, error) {
	switch {
	case f.configDir != "":
		d, err := modeltest.OpenDir(f.configDir, f.spec.Objects())
		return d, "directory " + f.configDir, err
	case f.kubeconfig != "":
		w, err := kubemesh.FromKubeconfig(f.kubeconfig)
		if err != nil {
			return nil, "", err
		}
		probe := f.spec.ServiceObjects(0)
		if f.spec.HasRules(0) {
			probe = append(probe, f.spec.DestinationRule(0), f.spec.VirtualService(0, 90))
		}
		return w, "the cluster of " + f.kubeconfig, w.Check(ctx, probe)
	}
	return nil, "", nil
}

func describe(s modeltest.MeshSpec) string {
	return fmt.Sprintf("%d services × %d endpoints in %d namespaces, rules: %s", s.Services, s.Endpoints, s.Namespaces, s.Rules)
}

func write(r load.Report, asJSON bool) error {
	if asJSON {
		return r.WriteJSON(os.Stdout)
	}
	return r.WriteText(os.Stdout)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "xds-load:", err)
	os.Exit(1)
}

// profileCPU starts writing the process's CPU profile to path; the returned func ends it.
func profileCPU(path string) (func(), error) {
	out, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		out.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); out.Close() }, nil
}

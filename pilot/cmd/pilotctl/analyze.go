package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"go.uber.org/zap"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/minipilot/minipilot/adapters/file"
	"github.com/minipilot/minipilot/adapters/k8s"
	"github.com/minipilot/minipilot/adapters/kube"
	"github.com/minipilot/minipilot/model"
	"github.com/minipilot/minipilot/model/analyze"
)

func analyzeCmd(e *env, args []string) error {
	fs := flags(e, "analyze", "[-f FILE|DIR]... [--kubeconfig FILE]",
		"Check manifests before they are applied, offline: each object as the validator sees it (IST0106 when it\n"+
			"is refused), then the mesh as a whole: routes to hosts or subsets that do not exist (IST0101), subsets\n"+
			"that select no endpoint (IST0173), several VirtualServices for one host (IST0109), a destination port\n"+
			"needed (IST0112), DestinationRules for no service (IST0174), a weight on a route's only destination\n"+
			"(MP0001), a Sidecar that hides a host its namespace routes to (MP0002). With --kubeconfig the cluster's\n"+
			"objects are read too, and -f files are checked as if applied to it. Exit status 3 when errors are found.")
	var files stringList
	fs.Var(&files, "f", "a manifest file or directory (repeatable; - reads stdin)")
	kubeconfig := fs.String("kubeconfig", "", "also read the mesh of this cluster (Services, endpoints, Pods, networking.istio.io rules)")
	domain := fs.String("domain-suffix", "cluster.local", "the cluster's DNS domain")
	output := fs.String("o", "text", "output: text or json")
	failOn := fs.String("fail-on", "error", "exit status 3 on messages of this level or worse: error or warning")
	timeout := fs.Duration("timeout", time.Minute, "how long to wait for the cluster's objects")
	args, err := parse(fs, args)
	if err != nil {
		return err
	}
	files = append(files, args...) // pilotctl analyze dir/ works too
	switch {
	case len(files) == 0 && *kubeconfig == "":
		return usagef("give manifests (-f FILE or DIR) or a cluster (--kubeconfig)")
	case *output != "text" && *output != "json":
		return usagef("-o %q: want text or json", *output)
	case *failOn != "error" && *failOn != "warning":
		return usagef("--fail-on %q: want error or warning", *failOn)
	}
	opts := k8s.Options{DomainSuffix: *domain}
	store := model.NewStore(*domain, time.Now)
	var sidecars []analyze.Sidecar
	if *kubeconfig != "" {
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		defer cancel()
		fmt.Fprintf(e.stderr, "reading the cluster of %s...\n", *kubeconfig)
		sc, err := readCluster(ctx, *kubeconfig, store, opts)
		if err != nil {
			return err
		}
		sidecars = sc
	}
	var part model.Part
	if len(files) > 0 {
		manifests, err := readManifests(files)
		if err != nil {
			return err
		}
		var sc []analyze.Sidecar
		part, sc = parseWithSidecars(manifests, opts)
		sidecars = append(sidecars, sc...)
	}
	msgs := refused(part.Rejections)
	msgs = append(msgs, analyze.Run(store.WithOverlay(part), sidecars)...)
	return report(e.stdout, msgs, *output, *failOn)
}

// refused turns the validator's refusals into IST0106 (Istio's schema validation error).
func refused(rejections []model.Rejection) []analyze.Message {
	var out []analyze.Message
	for _, r := range rejections {
		m := analyze.Message{Code: "IST0106", Level: analyze.Error, Object: r.Source, Text: "Schema validation error: " + r.Reason}
		if r.Name != "" {
			m.Object, m.Source = fmt.Sprintf("%s %s/%s", r.Kind, r.Namespace, r.Name), r.Source
		}
		if strings.HasPrefix(r.Reason, "unknown kind ") {
			if !strings.Contains(r.Reason, k8s.IstioGroup+"/") {
				continue // a Deployment, a Namespace: not pilot's to analyze, as istioctl skips them
			}
			m.Code, m.Level, m.Text = "MP0003", analyze.Info, "not served by minipilot: "+r.Reason
		}
		out = append(out, m)
	}
	return out
}

func report(w io.Writer, msgs []analyze.Message, output, failOn string) error {
	bad := analyze.Errors(msgs)
	if failOn == "warning" {
		bad = 0
		for _, m := range msgs {
			if m.Level != analyze.Info {
				bad++
			}
		}
	}
	if output == "json" {
		if msgs == nil {
			msgs = []analyze.Message{}
		}
		fmt.Fprintln(w, canonical(msgs))
	} else if len(msgs) == 0 {
		fmt.Fprintln(w, "✔ No validation issues found.")
	} else {
		for _, m := range msgs {
			fmt.Fprintln(w, m.String())
		}
	}
	if bad > 0 {
		return problemsFound{bad}
	}
	return nil
}

// parseWithSidecars reads manifests as pilot does, and the Sidecars among them, which pilot does
// not serve (the file adapter refuses their kind; here they are read, not refused).
func parseWithSidecars(manifests map[string][]byte, opts k8s.Options) (model.Part, []analyze.Sidecar) {
	part := file.Parse(manifests, opts)
	var sidecars []analyze.Sidecar
	sources := map[string]bool{}
	for name, data := range manifests {
		for _, sc := range sidecarDocs(name, data) {
			sidecars = append(sidecars, sc)
			sources[sc.Source] = true
		}
	}
	var kept []model.Rejection
	for _, r := range part.Rejections {
		if !sources[r.Source] {
			kept = append(kept, r)
		}
	}
	part.Rejections = kept
	return part, sidecars
}

// sidecarObject is the part of a Sidecar the analysis reads.
type sidecarObject struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Spec       struct {
		WorkloadSelector *struct{} `json:"workloadSelector"`
		Egress           []struct {
			Hosts []string `json:"hosts"`
		} `json:"egress"`
	} `json:"spec"`
}

func (o sidecarObject) sidecar(source string) analyze.Sidecar {
	ns := o.Metadata.Namespace
	if ns == "" {
		ns = "default"
	}
	sc := analyze.Sidecar{Meta: model.Meta{Kind: "Sidecar", Name: o.Metadata.Name, Namespace: ns, Source: source}, Selects: o.Spec.WorkloadSelector != nil}
	for _, eg := range o.Spec.Egress {
		sc.Egress = append(sc.Egress, eg.Hosts...)
	}
	return sc
}

// sidecarDocs finds the Sidecar documents of a file, named as the file adapter names documents.
func sidecarDocs(name string, data []byte) []analyze.Sidecar {
	var out []analyze.Sidecar
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for index := 1; ; index++ {
		doc, err := reader.Read()
		if err != nil {
			return out
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			index--
			continue
		}
		var o sidecarObject
		if yaml.Unmarshal(doc, &o) == nil && o.Kind == "Sidecar" && strings.HasPrefix(o.APIVersion, k8s.IstioGroup+"/") {
			out = append(out, o.sidecar(fmt.Sprintf("%s#%d", name, index)))
		}
	}
}

func stripComments(doc []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(out, line)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

// readCluster fills store with a cluster's mesh through pilot's own Kubernetes adapter (the same
// informers, conversion and validation), and lists its Sidecars.
func readCluster(ctx context.Context, kubeconfig string, store *model.Store, opts k8s.Options) ([]analyze.Sidecar, error) {
	c, err := kube.LoadKubeconfig(kubeconfig, "")
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		return nil, err
	}
	kopts := kube.Options{Cluster: c.Name, DomainSuffix: opts.DomainSuffix, Log: zap.NewNop()}
	platform, err := kube.NewPlatform(client, kopts)
	if err != nil {
		return nil, err
	}
	controller, err := kube.NewConfigController(dyn, kube.NewStatusWriter(dyn, nil, nil, zap.NewNop()), kopts)
	if err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	// Registered before they run: a store without sources counts as synced.
	services, rules := store.Register("kube/"+c.Name, platform), store.Register("kube-config/"+c.Name, controller)
	go func() { _ = platform.Run(runCtx, services) }()
	go func() { _ = controller.Run(runCtx, rules) }()
	for !store.Synced() {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("the cluster's objects did not sync in time (are the networking.istio.io CRDs installed? kubectl apply -f crds/): %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	store.Snapshot()
	return clusterSidecars(ctx, dyn)
}

var sidecarsGVR = schema.GroupVersionResource{Group: k8s.IstioGroup, Version: "v1", Resource: "sidecars"}

// clusterSidecars lists the cluster's Sidecars; none when their CRD is not installed.
func clusterSidecars(ctx context.Context, dyn dynamic.Interface) ([]analyze.Sidecar, error) {
	list, err := dyn.Resource(sidecarsGVR).List(ctx, metav1.ListOptions{})
	if err != nil {
		var status interface{ Status() metav1.Status }
		if errors.As(err, &status) && status.Status().Code == 404 {
			return nil, nil
		}
		return nil, fmt.Errorf("listing Sidecars: %w", err)
	}
	var out []analyze.Sidecar
	for _, item := range list.Items {
		b, err := item.MarshalJSON()
		if err != nil {
			continue
		}
		var o sidecarObject
		if yaml.Unmarshal(b, &o) == nil {
			out = append(out, o.sidecar("kube"))
		}
	}
	return out, nil
}

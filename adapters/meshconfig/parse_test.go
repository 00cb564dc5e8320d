package meshconfig

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/minipilot/minipilot/model"
)

func TestParseDefaults(t *testing.T) {
	m, err := Parse([]byte(""), "mesh.yaml")
	if err != nil {
		t.Fatal(err)
	}
	def := model.DefaultMeshConfig()
	if !m.Equal(def) || m.RootNamespace != "istio-system" || m.OutboundTrafficPolicy != model.AllowAny ||
		!slices.Equal(m.DefaultServiceExportTo, []string{"*"}) || m.ProtocolDetectionTimeout != 0 ||
		m.DiscoveryAddress != "istiod.istio-system.svc:15012" || m.LocalityLbSetting == nil || !*m.LocalityLbSetting.Enabled {
		t.Errorf("an empty document must give Istio's defaults, got %+v", m)
	}
}

func TestParseFields(t *testing.T) {
	m, err := Parse([]byte(`
rootNamespace: istio-config
outboundTrafficPolicy: {mode: REGISTRY_ONLY}
defaultServiceExportTo: ["."]
defaultVirtualServiceExportTo: [".", "istio-system"]
defaultDestinationRuleExportTo: ["*"]
defaultConfig: {discoveryAddress: "pilot.mesh:15010", concurrency: 2}
localityLbSetting: {enabled: true, failover: [{from: eu, to: us}]}
protocolDetectionTimeout: 250ms
enableTracing: true
accesLogFile: /dev/stdout
`), "mesh.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if m.RootNamespace != "istio-config" || m.OutboundTrafficPolicy != model.RegistryOnly || !slices.Equal(m.DefaultServiceExportTo, []string{"."}) ||
		!slices.Equal(m.DefaultVirtualServiceExportTo, []string{".", "istio-system"}) || m.DiscoveryAddress != "pilot.mesh:15010" ||
		m.ProtocolDetectionTimeout != 250*time.Millisecond || len(m.LocalityLbSetting.Failover) != 1 {
		t.Errorf("fields not read: %+v", m)
	}
	want := []string{
		"accesLogFile is not a field of Istio's MeshConfig; ignored",
		"enableTracing is a MeshConfig field minipilot does not use; ignored",
		"defaultConfig.concurrency is a ProxyConfig field minipilot does not use; ignored",
	}
	if !slices.Equal(m.Warnings, want) {
		t.Errorf("warnings:\n got %q\nwant %q", m.Warnings, want)
	}
}

func TestParseRefuses(t *testing.T) {
	for doc, want := range map[string]string{
		"outboundTrafficPolicy: {mode: BLOCK}":                        `outboundTrafficPolicy.mode: "BLOCK" is not ALLOW_ANY or REGISTRY_ONLY`,
		"outboundTrafficPolicy: {mode: ALLOW_ANY_DYNAMIC_DNS}":        "ALLOW_ANY_DYNAMIC_DNS",
		"protocolDetectionTimeout: soon":                              "protocolDetectionTimeout",
		"defaultServiceExportTo: [\"\"]":                              "defaultServiceExportTo[0]",
		"localityLbSetting: {distribute: [{from: eu, to: {us: 30}}]}": "localityLbSetting",
		"[a, b]": "a MeshConfig is a mapping",
	} {
		if _, err := Parse([]byte(doc), "mesh.yaml"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error with %q", doc, err, want)
		}
	}
}

type countingReg struct{ changed, synced atomic.Int32 }

func (r *countingReg) Changed() { r.changed.Add(1) }
func (r *countingReg) Synced()  { r.synced.Add(1) }

// TestRunFile: the file is read at start, and again after each poll; a bad document keeps the last
// good config in force and is reported as a rejection; a removed file means the defaults.
func TestRunFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mesh.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path+".tmp", []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
	}
	write("outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n")
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	src := NewSource(zaptest.NewLogger(t))
	reg := &countingReg{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = src.RunFile(ctx, path, reg, clk); close(done) }()
	defer func() { cancel(); <-done }()
	eventually := func(what string, cond func() bool) {
		t.Helper()
		for i := 0; !cond(); i++ {
			if i > 500 {
				t.Fatalf("timed out waiting for %s", what)
			}
			clk.Step(FilePollInterval)
			time.Sleep(2 * time.Millisecond)
		}
	}
	eventually("the first read", func() bool { return reg.synced.Load() == 1 && src.Mesh().OutboundTrafficPolicy == model.RegistryOnly })

	write("outboundTrafficPolicy: {mode: NOPE}\n")
	eventually("the refusal", func() bool { return len(src.Part().Rejections) == 1 })
	if got := src.Part(); got.Mesh.OutboundTrafficPolicy != model.RegistryOnly || !strings.Contains(got.Rejections[0].Reason, "NOPE") {
		t.Errorf("a bad file must keep the last good config and say why: %+v", got)
	}

	write("rootNamespace: istio-config\n")
	eventually("the fix", func() bool { return src.Mesh().RootNamespace == "istio-config" && len(src.Part().Rejections) == 0 })
	if src.Mesh().OutboundTrafficPolicy != model.AllowAny {
		t.Errorf("fields the new file leaves out take Istio's defaults again")
	}

	before := reg.changed.Load()
	clk.Step(3 * FilePollInterval)
	time.Sleep(10 * time.Millisecond)
	if reg.changed.Load() != before {
		t.Errorf("an unchanged file must not count as a change")
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	eventually("the defaults", func() bool { return src.Mesh().RootNamespace == "istio-system" })
}

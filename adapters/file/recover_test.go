package file

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/minipilot/minipilot/adapters/k8s"
	"github.com/minipilot/minipilot/crds/validation"
	"github.com/minipilot/minipilot/model"
)

// TestPanicRefusesOneDocument: a panic decoding one document is that document's rejection, as an
// internal error naming it; its last good version stays and the rest of the directory is served.
func TestPanicRefusesOneDocument(t *testing.T) {
	dir := t.TempDir()
	boom := strings.Replace(reviewsVS, "name: reviews}", "name: boom}", 1)
	write(t, dir, "rules.yaml", reviewsService+"---\n"+boom+"---\n"+strings.Replace(reviewsVS, "name: reviews}", "name: other}", 1))
	a := newAdapter(t, dir)
	if part := load(t, a); len(part.VirtualServices) != 2 {
		t.Fatalf("want both VirtualServices before the decoder breaks, got %+v", part.VirtualServices)
	}

	a.decodeConfig = func(meta model.Meta, spec json.RawMessage) (model.Config, []validation.Problem, error) {
		if meta.Name == "boom" {
			panic("decoder exploded")
		}
		return k8s.DecodeConfig(meta, spec)
	}
	write(t, dir, "rules.yaml", reviewsService+"---\n"+strings.Replace(boom, "weight: 80", "weight: 30", 1)+"---\n"+
		strings.Replace(reviewsVS, "name: reviews}", "name: other}", 1))
	part := load(t, a)
	if len(part.Services) != 1 || len(part.VirtualServices) != 2 {
		t.Fatalf("the rest of the file is served and boom's last good version stays, got %d services, %+v", len(part.Services), part.VirtualServices)
	}
	for _, vs := range part.VirtualServices {
		if vs.Name == "boom" && vs.Spec.HTTP[0].Route[0].Weight != 80 {
			t.Errorf("boom's last good version (80/20) should stay, got %+v", vs.Spec.HTTP[0].Route)
		}
	}
	if len(part.Rejections) != 1 {
		t.Fatalf("want one rejection, got %+v", part.Rejections)
	}
	r := part.Rejections[0]
	if r.Source != "rules.yaml#2" || r.Key() != "VirtualService/default/boom" || r.Reason != "internal error: decoder exploded" {
		t.Errorf("got %s %s: %s", r.Source, r.Key(), r.Reason)
	}
}

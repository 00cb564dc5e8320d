package k8s

import (
	"encoding/json"
	"fmt"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/crds/validation"
	"github.com/minipilot/minipilot/model"
)

// IstioGroup is the API group of the routing kinds.
const IstioGroup = "networking.istio.io"

// IstioVersions are the served versions; they share one schema.
var IstioVersions = []string{"v1", "v1beta1", "v1alpha3"}

// IsIstioKind says whether kind is one of the networking.istio.io kinds minipilot reads.
func IsIstioKind(kind string) bool {
	switch model.Kind(kind) {
	case model.KindVirtualService, model.KindDestinationRule, model.KindServiceEntry, model.KindGateway, model.KindSidecar:
		return true
	}
	return false
}

// DecodeConfig decodes the spec of a networking.istio.io object strictly and validates it. It returns
// the config, the validator's warnings, and an error that names the field and the reason.
func DecodeConfig(meta model.Meta, spec json.RawMessage) (model.Config, []validation.Problem, error) {
	if len(spec) == 0 {
		spec = json.RawMessage("{}")
	}
	var (
		cfg    model.Config
		result validation.Result
		err    error
	)
	switch meta.Kind {
	case model.KindVirtualService:
		vs := &networking.VirtualService{}
		if err = DecodeStrict(spec, vs, "spec"); err == nil {
			result, cfg = validation.VirtualService(vs), &model.VirtualService{Meta: meta, Spec: vs}
		}
	case model.KindDestinationRule:
		dr := &networking.DestinationRule{}
		if err = DecodeStrict(spec, dr, "spec"); err == nil {
			result, cfg = validation.DestinationRule(dr), &model.DestinationRule{Meta: meta, Spec: dr}
		}
	case model.KindServiceEntry:
		se := &networking.ServiceEntry{}
		if err = DecodeStrict(spec, se, "spec"); err == nil {
			result, cfg = validation.ServiceEntry(se), &model.ServiceEntry{Meta: meta, Spec: se}
		}
	case model.KindGateway:
		gw := &networking.Gateway{}
		if err = DecodeStrict(spec, gw, "spec"); err == nil {
			result, cfg = validation.Gateway(gw), &model.Gateway{Meta: meta, Spec: gw}
		}
	case model.KindSidecar:
		sc := &networking.Sidecar{}
		if err = DecodeStrict(spec, sc, "spec"); err == nil {
			result, cfg = validation.Sidecar(sc), &model.SidecarResource{Meta: meta, Spec: sc}
		}
	default:
		return nil, nil, fmt.Errorf("kind %q is not a networking.istio.io kind minipilot reads", meta.Kind)
	}
	if err != nil {
		return nil, nil, err
	}
	if err := result.Err(); err != nil {
		return nil, result.Warnings, err
	}
	return cfg, result.Warnings, nil
}

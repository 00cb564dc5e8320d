package crds_test

import (
	"encoding/json"
	"fmt"

	"sigs.k8s.io/yaml"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/crds/validation"
)

// validate runs minipilot's validator on a manifest's spec, as the controller will, so that the
// tests can show where the schema and the validator agree and where only the validator decides.
func validate(kind, doc string) error {
	var obj struct {
		Spec json.RawMessage `json:"spec"`
	}
	if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
		return fmt.Errorf("decoding the manifest: %w", err)
	}
	decode := func(spec any) error {
		if obj.Spec == nil {
			return nil // leave the spec nil: the validator reports it
		}
		return json.Unmarshal(obj.Spec, spec)
	}
	var r validation.Result
	switch kind {
	case "VirtualService":
		var spec *networking.VirtualService
		if err := decode(&spec); err != nil {
			return err
		}
		r = validation.VirtualService(spec)
	case "DestinationRule":
		var spec *networking.DestinationRule
		if err := decode(&spec); err != nil {
			return err
		}
		r = validation.DestinationRule(spec)
	case "ServiceEntry":
		var spec *networking.ServiceEntry
		if err := decode(&spec); err != nil {
			return err
		}
		r = validation.ServiceEntry(spec)
	case "Gateway":
		var spec *networking.Gateway
		if err := decode(&spec); err != nil {
			return err
		}
		r = validation.Gateway(spec)
	case "Sidecar":
		var spec *networking.Sidecar
		if err := decode(&spec); err != nil {
			return err
		}
		r = validation.Sidecar(spec)
	default:
		return fmt.Errorf("unknown kind %q", kind)
	}
	return r.Err()
}

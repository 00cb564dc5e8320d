// Package meshconfig reads Istio's MeshConfig (the YAML of istiod's --meshConfig file, or the
// "mesh" key of the istio ConfigMap) into the part of it minipilot uses, with Istio's defaults for
// what it leaves out. Fields minipilot does not use are reported, not refused; a bad document is
// refused whole, and its source keeps the last good one.
package meshconfig

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/minipilot/minipilot/crds/networking"
	"github.com/minipilot/minipilot/crds/validation"
	"github.com/minipilot/minipilot/model"
)

// istioFields are the fields of Istio's MeshConfig (istio.io/api mesh/v1alpha1, v1.31): one not
// among them is a typo or from another version; one among them that minipilot does not read is
// reported as unused.
var istioFields = strings.Fields(`proxyListenPort proxyInboundListenPort proxyHttpPort connectTimeout hboneIdleTimeout
	protocolDetectionTimeout tcpKeepalive ingressClass ingressService ingressControllerMode ingressSelector
	enableTracing accessLogFile accessLogFormat accessLogEncoding enableEnvoyAccessLogService
	disableEnvoyListenerLog defaultConfig outboundTrafficPolicy inboundTrafficPolicy configSources enableAutoMtls
	trustDomain trustDomainAliases caCertificates defaultServiceExportTo defaultVirtualServiceExportTo
	defaultDestinationRuleExportTo rootNamespace localityLbSetting zoneAwareLbSetting dnsRefreshRate
	h2UpgradePolicy inboundClusterStatName outboundClusterStatName certificates serviceSettings
	serviceScopeConfigs enablePrometheusMerge verifyCertificateAtClient ca extensionProviders defaultProviders
	discoverySelectors pathNormalization defaultHttpRetryPolicy meshMTLS tlsDefaults defaultTrafficPolicy
	serviceEntryVisibility`)

// document is what minipilot reads of a MeshConfig.
type document struct {
	RootNamespace         *string `json:"rootNamespace"`
	OutboundTrafficPolicy *struct {
		Mode string `json:"mode"`
	} `json:"outboundTrafficPolicy"`
	DefaultServiceExportTo         []string `json:"defaultServiceExportTo"`
	DefaultVirtualServiceExportTo  []string `json:"defaultVirtualServiceExportTo"`
	DefaultDestinationRuleExportTo []string `json:"defaultDestinationRuleExportTo"`
	DefaultConfig                  *struct {
		DiscoveryAddress string `json:"discoveryAddress"`
	} `json:"defaultConfig"`
	LocalityLbSetting        *networking.LocalityLoadBalancerSetting `json:"localityLbSetting"`
	ProtocolDetectionTimeout *networking.Duration                    `json:"protocolDetectionTimeout"`
}

var used = []string{"rootNamespace", "outboundTrafficPolicy", "defaultServiceExportTo", "defaultVirtualServiceExportTo",
	"defaultDestinationRuleExportTo", "defaultConfig", "localityLbSetting", "protocolDetectionTimeout"}

// Parse reads a MeshConfig document. Every field it does not set has Istio's default; fields
// minipilot does not read come back as warnings on the config; a value that is wrong (a mode
// Istio does not have, a bad duration) is an error naming the field.
func Parse(data []byte, source string) (*model.MeshConfig, error) {
	out := model.DefaultMeshConfig()
	out.Source = source
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%s: not YAML: %v", source, err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(js, &raw); err != nil && string(js) != "null" {
		return nil, fmt.Errorf("%s: a MeshConfig is a mapping of fields: %v", source, err)
	}
	for _, k := range sortedKeys(raw) {
		switch {
		case slices.Contains(used, k):
		case slices.Contains(istioFields, k):
			out.Warnings = append(out.Warnings, fmt.Sprintf("%s is a MeshConfig field minipilot does not use; ignored", k))
		default:
			out.Warnings = append(out.Warnings, fmt.Sprintf("%s is not a field of Istio's MeshConfig; ignored", k))
		}
	}
	if raw["defaultConfig"] != nil {
		var pc map[string]json.RawMessage
		if err := json.Unmarshal(raw["defaultConfig"], &pc); err != nil {
			return nil, fmt.Errorf("%s: defaultConfig: %v", source, err)
		}
		for _, k := range sortedKeys(pc) {
			if k != "discoveryAddress" {
				out.Warnings = append(out.Warnings, fmt.Sprintf("defaultConfig.%s is a ProxyConfig field minipilot does not use; ignored", k))
			}
		}
	}
	var doc document
	if err := json.Unmarshal(js, &doc); err != nil {
		return nil, fmt.Errorf("%s: %v", source, err)
	}
	if doc.RootNamespace != nil {
		out.RootNamespace = *doc.RootNamespace
	}
	if tp := doc.OutboundTrafficPolicy; tp != nil {
		switch tp.Mode {
		case "", model.AllowAny:
			out.OutboundTrafficPolicy = model.AllowAny
		case model.RegistryOnly:
			out.OutboundTrafficPolicy = model.RegistryOnly
		case "ALLOW_ANY_DYNAMIC_DNS":
			return nil, fmt.Errorf("%s: outboundTrafficPolicy.mode: ALLOW_ANY_DYNAMIC_DNS (a dynamic forward proxy) is not supported by minipilot; use ALLOW_ANY or REGISTRY_ONLY", source)
		default:
			return nil, fmt.Errorf("%s: outboundTrafficPolicy.mode: %q is not ALLOW_ANY or REGISTRY_ONLY", source, tp.Mode)
		}
	}
	for _, e := range []struct {
		field string
		in    []string
		out   *[]string
	}{
		{"defaultServiceExportTo", doc.DefaultServiceExportTo, &out.DefaultServiceExportTo},
		{"defaultVirtualServiceExportTo", doc.DefaultVirtualServiceExportTo, &out.DefaultVirtualServiceExportTo},
		{"defaultDestinationRuleExportTo", doc.DefaultDestinationRuleExportTo, &out.DefaultDestinationRuleExportTo},
	} {
		if e.in == nil {
			continue
		}
		for i, ns := range e.in {
			if ns == "" || ns == "~" {
				return nil, fmt.Errorf("%s: %s[%d]: %q is not \"*\", \".\" or a namespace", source, e.field, i, ns)
			}
		}
		*e.out = e.in
	}
	if dc := doc.DefaultConfig; dc != nil && dc.DiscoveryAddress != "" {
		out.DiscoveryAddress = dc.DiscoveryAddress
	}
	if doc.LocalityLbSetting != nil {
		r := validation.DestinationRule(&networking.DestinationRule{Host: "mesh", TrafficPolicy: &networking.TrafficPolicy{
			LoadBalancer: &networking.LoadBalancerSettings{LocalityLbSetting: doc.LocalityLbSetting}}})
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("%s: localityLbSetting: %s", source, strings.ReplaceAll(err.Error(), "spec.trafficPolicy.loadBalancer.localityLbSetting", "localityLbSetting"))
		}
		out.LocalityLbSetting = doc.LocalityLbSetting
	}
	if d := doc.ProtocolDetectionTimeout; d != nil {
		if err := d.Err(); err != nil || d.Duration < 0 {
			return nil, fmt.Errorf("%s: protocolDetectionTimeout: %q is not a duration of 0 or more", source, d.String())
		}
		out.ProtocolDetectionTimeout = d.Duration
	}
	return out, nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

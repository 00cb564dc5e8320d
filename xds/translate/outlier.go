package translate

import (
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/minipilot/minipilot/crds/networking"
)

// applyOutlierDetection converts Istio's outlier detection for Envoy exactly as Istio does: a count
// that is set enables that kind of ejection (enforcing 100%) and 0 disables it; an unset
// consecutive5xxErrors leaves Envoy's default (5, enforced); success-rate ejection is off. The panic
// threshold is always written, so that an unset minHealthPercent (0) disables Envoy's panic mode,
// which would otherwise send traffic to ejected hosts once half of them are out.
func applyOutlierDetection(c *clusterv3.Cluster, od *networking.OutlierDetection) {
	if od == nil {
		return
	}
	out := &clusterv3.OutlierDetection{EnforcingSuccessRate: wrapperspb.UInt32(0)}
	if v := od.Consecutive5xxErrors; v != nil {
		out.Consecutive_5Xx = wrapperspb.UInt32(*v)
		out.EnforcingConsecutive_5Xx = wrapperspb.UInt32(enforcing(*v))
	}
	if v := od.ConsecutiveGatewayErrors; v != nil {
		out.ConsecutiveGatewayFailure = wrapperspb.UInt32(*v)
		out.EnforcingConsecutiveGatewayFailure = wrapperspb.UInt32(enforcing(*v))
	}
	if od.SplitExternalLocalOriginErrors {
		out.SplitExternalLocalOriginErrors = true
		if v := od.ConsecutiveLocalOriginFailures; v != nil && *v > 0 {
			out.ConsecutiveLocalOriginFailure = wrapperspb.UInt32(*v)
			out.EnforcingConsecutiveLocalOriginFailure = wrapperspb.UInt32(100)
		}
		out.EnforcingLocalOriginSuccessRate = wrapperspb.UInt32(0)
	}
	setEjectionTiming(out, od)
	c.OutlierDetection = out
	commonLbConfig(c).HealthyPanicThreshold = &typev3.Percent{Value: float64(od.MinHealthPercent)}
}

func setEjectionTiming(out *clusterv3.OutlierDetection, od *networking.OutlierDetection) {
	if od.Interval != nil {
		out.Interval = durationpb.New(od.Interval.Duration)
	}
	if od.BaseEjectionTime != nil {
		out.BaseEjectionTime = durationpb.New(od.BaseEjectionTime.Duration)
	}
	if od.MaxEjectionPercent > 0 {
		out.MaxEjectionPercent = wrapperspb.UInt32(uint32(od.MaxEjectionPercent))
	}
}

func enforcing(count uint32) uint32 {
	if count == 0 {
		return 0
	}
	return 100
}

func commonLbConfig(c *clusterv3.Cluster) *clusterv3.Cluster_CommonLbConfig {
	if c.CommonLbConfig == nil {
		c.CommonLbConfig = &clusterv3.Cluster_CommonLbConfig{}
	}
	return c.CommonLbConfig
}

// Proxyless outlier detection.
//
// gRPC clients implement outlier detection as gRFC A50 specifies: only success-rate and
// failure-percentage ejection, evaluated once per interval; they ignore Envoy's consecutive_5xx and
// consecutive_gateway_failure. So that Istio's consecutive-error settings still eject a failing host
// from a gRPC client's picks, minipilot maps them to failure-percentage ejection:
//
//   - N, the smallest enabled count among consecutive5xxErrors (Envoy's default 5 when unset),
//     consecutiveGatewayErrors and, with splitExternalLocalOriginErrors, consecutiveLocalOriginFailures,
//     becomes failure_percentage_request_volume: a host is judged once it has had N RPCs in the
//     interval, as Envoy judges it after N consecutive failures;
//   - failure_percentage_threshold is 50: a host is ejected when at least half of those RPCs failed
//     (a host failing every RPC, as after N consecutive errors, always is; one failing now and then
//     is not, as with Envoy's consecutive counting);
//   - failure_percentage_minimum_hosts is 1, so small clusters eject too, as Envoy does (its default of
//     5 hosts would make ejection never happen in most services);
//   - enforcing_failure_percentage is 100 and success-rate ejection is off, as in Istio.
//
// interval, baseEjectionTime and maxEjectionPercent carry over unchanged. Differences that remain:
// gRPC counts every non-OK status as a failure (not only UNAVAILABLE or 5xx), and it judges within
// one interval rather than across a run of calls. gRPC has no panic mode, so minHealthPercent has no
// effect. Every cluster this applies to carries a warning that says so.
const (
	proxylessFailureThreshold = 50
	proxylessMinimumHosts     = 1
	envoyDefaultConsecutive   = 5
)

func (b *builder) applyProxylessOutlierDetection(c *clusterv3.Cluster, od *networking.OutlierDetection) {
	if od == nil {
		return
	}
	out := &clusterv3.OutlierDetection{EnforcingSuccessRate: wrapperspb.UInt32(0)}
	setEjectionTiming(out, od)
	n := proxylessRequestVolume(od)
	interval := 10 * time.Second
	if od.Interval != nil {
		interval = od.Interval.Duration
	}
	if n > 0 {
		out.EnforcingFailurePercentage = wrapperspb.UInt32(100)
		out.FailurePercentageThreshold = wrapperspb.UInt32(proxylessFailureThreshold)
		out.FailurePercentageRequestVolume = wrapperspb.UInt32(n)
		out.FailurePercentageMinimumHosts = wrapperspb.UInt32(proxylessMinimumHosts)
		b.warnCluster(c.Name, "cluster %s: gRPC clients eject by failure percentage (gRFC A50), not by consecutive errors: "+
			"a host with at least %d RPCs of which %d%% or more failed (any non-OK status) within one interval (%s) is ejected",
			c.Name, n, proxylessFailureThreshold, interval)
	} else {
		b.warnCluster(c.Name, "cluster %s: outlierDetection disables every consecutive-error ejection; gRPC clients eject no host", c.Name)
	}
	if od.MinHealthPercent > 0 {
		b.warnCluster(c.Name, "cluster %s: gRPC clients have no panic mode; minHealthPercent %d has no effect on them", c.Name, od.MinHealthPercent)
	}
	c.OutlierDetection = out
}

// proxylessRequestVolume is N above; 0 when every kind of ejection is disabled.
func proxylessRequestVolume(od *networking.OutlierDetection) uint32 {
	counts := []uint32{envoyDefaultConsecutive}
	if od.Consecutive5xxErrors != nil {
		counts[0] = *od.Consecutive5xxErrors
	}
	if od.ConsecutiveGatewayErrors != nil {
		counts = append(counts, *od.ConsecutiveGatewayErrors)
	}
	if od.SplitExternalLocalOriginErrors && od.ConsecutiveLocalOriginFailures != nil {
		counts = append(counts, *od.ConsecutiveLocalOriginFailures)
	}
	n := uint32(0)
	for _, c := range counts {
		if c > 0 && (n == 0 || c < n) {
			n = c
		}
	}
	return n
}

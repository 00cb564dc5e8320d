package server

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/minipilot/minipilot/model"
)

// istioMetrics are the metrics of Istio's "Istio Control Plane" Grafana dashboard and alerts, under
// Istio's names, labels and meanings (istio.io/istio pilot/pkg/xds/monitoring.go, pkg/xds, and
// pilot/pkg/model/push_context.go), so that dashboards and alerts written for istiod read minipilot
// unchanged. Istio exports counters without a _total suffix; so do these.
type istioMetrics struct {
	xds          *prometheus.GaugeVec     // pilot_xds{version}: open xDS streams, by the proxies' Istio version
	pushes       *prometheus.CounterVec   // pilot_xds_pushes{type}: responses sent (cds, eds, lds, rds), and send errors (cds_senderr, ...)
	pushTime     *prometheus.HistogramVec // pilot_xds_push_time{type}: time to send one response
	configSize   *prometheus.HistogramVec // pilot_xds_config_size_bytes{type}: bytes of config in one response, by type URL
	convergence  prometheus.Histogram     // pilot_proxy_convergence_time: change seen → proxy has all of it
	debounce     prometheus.Histogram     // pilot_debounce_time: change seen → push begins
	triggers     *prometheus.CounterVec   // pilot_push_triggers{type}: pushes, by what caused them (endpoint, config)
	rejects      *prometheus.CounterVec   // pilot_total_xds_rejects{type}: responses a proxy refused
	internalErrs prometheus.Counter       // pilot_total_xds_internal_errors: translations that failed
	services     prometheus.Gauge         // pilot_services
	virtServices prometheus.Gauge         // pilot_virt_services
	build        *prometheus.GaugeVec     // istio_build{component,tag}
}

// Istio's buckets for each distribution, so that quantiles compare with istiod's.
var (
	istioTimeBuckets = []float64{.01, .1, 1, 3, 5, 10, 20, 30}
	istioSizeBuckets = []float64{1, 10000, 1000000, 4000000, 10000000, 40000000}
)

func newIstioMetrics() *istioMetrics {
	return &istioMetrics{
		xds: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "pilot_xds",
			Help: "Number of endpoints connected to this pilot using XDS."}, []string{"version"}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pilot_xds_pushes",
			Help: "Pilot build and send errors for lds, rds, cds and eds."}, []string{"type"}),
		pushTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "pilot_xds_push_time",
			Help: "Total time in seconds Pilot takes to push lds, rds, cds and eds.", Buckets: istioTimeBuckets}, []string{"type"}),
		configSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "pilot_xds_config_size_bytes",
			Help: "Distribution of configuration sizes pushed to clients", Buckets: istioSizeBuckets}, []string{"type"}),
		convergence: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pilot_proxy_convergence_time",
			Help: "Delay in seconds between config change and a proxy receiving all required configuration.", Buckets: []float64{.1, .5, 1, 3, 5, 10, 20, 30}}),
		debounce: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pilot_debounce_time",
			Help: "Delay in seconds between the first config enters debouncing and the merged push request is pushed into the push queue.", Buckets: istioTimeBuckets}),
		triggers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pilot_push_triggers",
			Help: "Total number of times a push was triggered, labeled by reason for the push."}, []string{"type"}),
		rejects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pilot_total_xds_rejects",
			Help: "Total number of XDS responses from pilot rejected by proxy."}, []string{"type"}),
		internalErrs: prometheus.NewCounter(prometheus.CounterOpts{Name: "pilot_total_xds_internal_errors",
			Help: "Total number of internal XDS errors in pilot."}),
		services:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "pilot_services", Help: "Total services known to pilot."}),
		virtServices: prometheus.NewGauge(prometheus.GaugeOpts{Name: "pilot_virt_services", Help: "Total virtual services known to pilot."}),
		build: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "istio_build",
			Help: "Istio component build info"}, []string{"component", "tag"}),
	}
}

func (m *istioMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.xds, m.pushes, m.pushTime, m.configSize, m.convergence, m.debounce, m.triggers, m.rejects,
		m.internalErrs, m.services, m.virtServices, m.build}
}

// SetBuild records the running build, as istiod's istio_build does (component "pilot").
func (m *Metrics) SetBuild(tag string) { m.istio.build.WithLabelValues("pilot", tag).Set(1) }

// sent counts one response that was written: its type, resource bytes and count, and how long
// marshalling and writing it took.
func (m *Metrics) sent(t int, size int64, resources int, took time.Duration) {
	m.pushes.WithLabelValues(typeShort[t]).Inc()
	m.sentBytes.WithLabelValues(typeShort[t]).Add(float64(size))
	m.sentResources.WithLabelValues(typeShort[t]).Add(float64(resources))
	m.istio.pushes.WithLabelValues(typeShort[t]).Inc()
	m.istio.pushTime.WithLabelValues(typeShort[t]).Observe(took.Seconds())
	m.istio.configSize.WithLabelValues(typeURLs[t]).Observe(float64(size))
}

// sendFailed counts a response that could not be written, as Istio's <type>_senderr.
func (m *Metrics) sendFailed(t int) { m.istio.pushes.WithLabelValues(typeShort[t] + "_senderr").Inc() }

// nacked counts a response a proxy refused.
func (m *Metrics) nacked(t int) {
	m.nacks.WithLabelValues(typeShort[t]).Inc()
	m.istio.rejects.WithLabelValues(typeShort[t]).Inc()
}

// streamOpened and streamClosed keep pilot_xds: Istio counts streams (connections), by the proxy's
// Istio version (node metadata ISTIO_VERSION).
func (m *Metrics) streamOpened(version string) { m.istio.xds.WithLabelValues(version).Inc() }
func (m *Metrics) streamClosed(version string) { m.istio.xds.WithLabelValues(version).Dec() }

// published records a push: what triggered it, how long the change waited for it (debounce), and
// the size of the mesh it carries.
func (m *Metrics) published(snap *model.Snapshot, change model.Change, start time.Time) {
	trigger := "config"
	if change.EndpointsOnly() {
		trigger = "endpoint"
	}
	m.istio.triggers.WithLabelValues(trigger).Inc()
	if !snap.ChangedAt.IsZero() && start.After(snap.ChangedAt) {
		m.istio.debounce.Observe(start.Sub(snap.ChangedAt).Seconds())
	}
	m.istio.services.Set(float64(len(snap.Services)))
	m.istio.virtServices.Set(float64(len(snap.VirtualServices)))
}

// converged records that a proxy has accepted every type it was sent for a change seen at since.
func (m *Metrics) converged(took time.Duration) { m.istio.convergence.Observe(took.Seconds()) }

// translationFailed counts a translation that panicked: the proxy keeps its last config.
func (m *Metrics) translationFailed() { m.istio.internalErrs.Inc() }

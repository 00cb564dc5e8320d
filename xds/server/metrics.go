package server

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/minipilot/minipilot/xds/translate"
)

// Metrics are the server's Prometheus metrics.
type Metrics struct {
	pushes      *prometheus.CounterVec
	nacks       *prometheus.CounterVec
	proxies     prometheus.Gauge
	convergence *prometheus.HistogramVec
	pushTime    prometheus.Histogram
	refused     *prometheus.CounterVec
	// sentBytes and sentResources say what pushes cost on the wire, by type.
	sentBytes     *prometheus.CounterVec
	sentResources *prometheus.CounterVec
	// translated counts the views translated, from scratch or by patching their endpoint sets or routes.
	translated *prometheus.CounterVec
	// inboundTranslated counts proxies' inbound sides translated (each is a proxy's own).
	inboundTranslated prometheus.Counter
	// virtualHostsBuilt counts sidecar views' virtual hosts, by how: translated, or kept as they were
	// (a change to VirtualServices alone that did not reach them).
	virtualHostsBuilt *prometheus.CounterVec
	// istio are the same facts under Istio's names, for its dashboards (istio_metrics.go).
	istio *istioMetrics
}

// NewMetrics creates the metrics and registers them with reg (none when reg is nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "minipilot_xds_pushes_total", Help: "xDS responses sent, by type (cds, eds, lds, rds).",
		}, []string{"type"}),
		nacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "minipilot_xds_nacks_total", Help: "xDS responses a proxy rejected, by type.",
		}, []string{"type"}),
		proxies: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "minipilot_xds_connected_proxies", Help: "Proxies with at least one open xDS stream.",
		}),
		convergence: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "minipilot_xds_convergence_seconds",
			Help:    "Time from a model change being seen to a proxy acknowledging the config that carries it, by type.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"type"}),
		pushTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "minipilot_xds_push_duration_seconds",
			Help:    "Time to translate and publish one model snapshot to every connected proxy.",
			Buckets: prometheus.ExponentialBuckets(.001, 2, 15),
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "minipilot_xds_refused_streams_total", Help: "xDS streams refused, by reason (draining, node).",
		}, []string{"reason"}),
		sentBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "minipilot_xds_sent_bytes_total", Help: "Resource bytes sent in xDS responses, by type.",
		}, []string{"type"}),
		sentResources: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "minipilot_xds_sent_resources_total", Help: "Resources sent in xDS responses, by type.",
		}, []string{"type"}),
		translated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "minipilot_xds_view_translations_total",
			Help: "Translations of a view (proxies that read the same inputs), by how: full, endpoints (only the changed endpoint sets rebuilt) or routes (a sidecar view's listeners and routes, for a VirtualService change).",
		}, []string{"how"}),
		inboundTranslated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "minipilot_xds_inbound_translations_total",
			Help: "Translations of a proxy's inbound side (its own listeners and clusters); a change that cannot reach it keeps the one it has.",
		}),
		virtualHostsBuilt: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "minipilot_xds_virtual_hosts_total",
			Help: "Virtual hosts of sidecar views' route configs, by how: translated, or kept (a VirtualService change that did not reach them keeps their bytes).",
		}, []string{"how"}),
		istio: newIstioMetrics(),
	}
	if reg != nil {
		reg.MustRegister(m.pushes, m.nacks, m.proxies, m.convergence, m.pushTime, m.refused, m.sentBytes, m.sentResources, m.translated, m.inboundTranslated,
			m.virtualHostsBuilt)
		reg.MustRegister(m.istio.collectors()...)
	}
	return m
}

// virtualHosts counts the virtual hosts of a sidecar view's translation.
func (m *Metrics) virtualHosts(k *translate.KeptRoutes) {
	m.virtualHostsBuilt.WithLabelValues("translated").Add(float64(k.Translated))
	m.virtualHostsBuilt.WithLabelValues("kept").Add(float64(k.Kept))
}

package auth

import "github.com/prometheus/client_golang/prometheus"

// Metrics count who was let in and who was turned away.
type Metrics struct {
	authenticated *prometheus.CounterVec
	refused       *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg (none when reg is nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		authenticated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "minipilot_xds_auth_authenticated_total", Help: "xDS streams and requests authenticated on the secure port, by how (token, certificate).",
		}, []string{"via"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "minipilot_xds_auth_refused_total",
			Help: "xDS streams and requests refused on the secure port, by reason: no_credentials, invalid (Unauthenticated), permission_denied (the identity may not act for the node's namespace).",
		}, []string{"reason"}),
	}
	if reg != nil {
		reg.MustRegister(m.authenticated, m.refused)
	}
	return m
}

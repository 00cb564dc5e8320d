package auth

import (
	"context"
	"crypto/tls"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"k8s.io/utils/clock"
)

// RotatingCert is a serving certificate the CA issues for a while and issues again when two thirds
// of that have passed, so that no handshake ever sees an expired one. Its key lives in memory only.
type RotatingCert struct {
	ca      *CA
	hosts   []string
	ttl     time.Duration
	clock   clock.WithTicker
	log     *zap.Logger
	current atomic.Pointer[tls.Certificate]
}

// NewRotatingCert issues the first certificate.
func NewRotatingCert(ca *CA, hosts []string, ttl time.Duration, clk clock.WithTicker, log *zap.Logger) (*RotatingCert, error) {
	r := &RotatingCert{ca: ca, hosts: hosts, ttl: ttl, clock: clk, log: log}
	if err := r.issue(); err != nil {
		return nil, err
	}
	return r, nil
}

// Get is the certificate in force.
func (r *RotatingCert) Get() *tls.Certificate { return r.current.Load() }

func (r *RotatingCert) issue() error {
	c, err := r.ca.Issue(Leaf{Hosts: r.hosts, Server: true, NotBefore: r.clock.Now(), TTL: r.ttl})
	if err != nil {
		return err
	}
	r.current.Store(c)
	return nil
}

// Run reissues the certificate until ctx ends; a failure is retried a minute later.
func (r *RotatingCert) Run(ctx context.Context) error {
	for {
		wait := r.Get().Leaf.NotAfter.Sub(r.clock.Now()) - r.ttl/3
		t := r.clock.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C():
		}
		if err := r.issue(); err != nil {
			r.log.Warn("reissuing the serving certificate; retrying in a minute", zap.Error(err))
			rt := r.clock.NewTimer(time.Minute)
			select {
			case <-ctx.Done():
				rt.Stop()
				return nil
			case <-rt.C():
			}
			continue
		}
		r.log.Info("reissued the serving certificate", zap.Time("notAfter", r.Get().Leaf.NotAfter))
	}
}

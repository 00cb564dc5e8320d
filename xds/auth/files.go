package auth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// reloadDelay lets a burst of file events (a Secret volume's ..data swap, cert-manager writing the
// certificate and then the key) settle before the files are read again.
const reloadDelay = 100 * time.Millisecond

// Reloading holds what a loader made of some files, and makes it again when they change, so that a
// rotated certificate (cert-manager, a Secret volume) is used without a restart. A load that fails
// (a pair caught half-written) keeps the previous value and is retried at the next change.
type Reloading[T any] struct {
	what    string
	paths   []string
	load    func() (T, error)
	current atomic.Pointer[T]
	log     *zap.Logger
}

// NewReloading loads once; a failure then is an error, as a server must not start without its
// certificate.
func NewReloading[T any](what string, paths []string, load func() (T, error), log *zap.Logger) (*Reloading[T], error) {
	v, err := load()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	r := &Reloading[T]{what: what, paths: paths, load: load, log: log}
	r.current.Store(&v)
	return r, nil
}

// Get is the value in force.
func (r *Reloading[T]) Get() T { return *r.current.Load() }

// Run watches the files' directories (a Secret or ConfigMap volume replaces its files by swapping
// a link, which a watch on the file itself would miss) until ctx ends.
func (r *Reloading[T]) Run(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	dirs := map[string]bool{}
	for _, p := range r.paths {
		dirs[filepath.Dir(p)] = true
	}
	for d := range dirs {
		if err := w.Add(d); err != nil {
			return fmt.Errorf("%s: watching %s: %w", r.what, d, err)
		}
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-w.Errors:
			r.log.Warn("watching files", zap.String("what", r.what), zap.Error(err))
		case <-w.Events:
			timer.Reset(reloadDelay)
		case <-timer.C:
			r.reload()
		}
	}
}

func (r *Reloading[T]) reload() {
	v, err := r.load()
	if err != nil {
		r.log.Warn("reloading failed; the previous version stays in force", zap.String("what", r.what), zap.Strings("files", r.paths), zap.Error(err))
		return
	}
	r.current.Store(&v)
	r.log.Info("reloaded", zap.String("what", r.what), zap.Strings("files", r.paths))
}

// LoadKeyPair reads a PEM certificate chain and its private key.
func LoadKeyPair(certFile, keyFile string) (*tls.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	if pair.Leaf == nil || len(pair.Certificate) == 0 {
		return nil, errors.New("no certificate")
	}
	return &pair, nil
}

// LoadCABundle reads PEM CA certificates; a file with none is an error.
func LoadCABundle(file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

// ServerTLS is the secure port's TLS: 1.2 or later, the serving certificate in force at each
// handshake, and a client certificate asked for but not required (a token may do instead); the
// CertAuthenticator verifies it.
func ServerTLS(cert func() *tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		ClientAuth:     tls.RequestClientCert,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cert(), nil },
	}
}

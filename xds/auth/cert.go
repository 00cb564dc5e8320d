package auth

import (
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/minipilot/minipilot/model"
)

// CertAuthenticator proves a client's identity by its certificate: the chain must lead to a root of
// the CA bundle, be valid now and allow client authentication, and the leaf must carry exactly one
// SPIFFE ID (URI SAN) in the trust domain. The TLS handshake only asks for the certificate; it is
// verified here, so that a wrong one is refused with a message rather than a broken handshake.
type CertAuthenticator struct {
	// Roots returns the CA bundle in force (it may be reloaded).
	Roots       func() *x509.CertPool
	TrustDomain string
	Now         func() time.Time
}

// Authenticate verifies a chain, leaf first.
func (a *CertAuthenticator) Authenticate(chain []*x509.Certificate) (model.Identity, error) {
	if len(chain) == 0 {
		return model.Identity{}, errors.New("no certificate")
	}
	leaf := chain[0]
	intermediates := x509.NewCertPool()
	for _, c := range chain[1:] {
		intermediates.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots: a.Roots(), Intermediates: intermediates, CurrentTime: a.Now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}); err != nil {
		return model.Identity{}, fmt.Errorf("not trusted by the --client-ca bundle: %w", err)
	}
	var ids []string
	for _, u := range leaf.URIs {
		if u.Scheme == "spiffe" {
			ids = append(ids, u.String())
		}
	}
	if len(ids) != 1 {
		return model.Identity{}, fmt.Errorf("want exactly one SPIFFE ID among its URI SANs, found %d", len(ids))
	}
	id, err := model.ParseSPIFFEID(ids[0])
	if err != nil {
		return model.Identity{}, err
	}
	if id.TrustDomain != a.TrustDomain {
		return model.Identity{}, fmt.Errorf("SPIFFE ID %s is not in the trust domain %q", ids[0], a.TrustDomain)
	}
	id.Via = "certificate"
	return id, nil
}

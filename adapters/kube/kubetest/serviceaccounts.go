package kubetest

import "path/filepath"

// ServiceAccountIssuer is the issuer (iss) of the service-account tokens the apiserver signs, and
// the audience of those minted without one.
const ServiceAccountIssuer = "https://kubernetes.default.svc.cluster.local"

// ServiceAccountSigningKey is the file of the PEM RSA key ("RSA PRIVATE KEY") the apiserver signs
// service-account tokens with, for tests that must forge one it would have signed (an expired
// token: the TokenRequest API issues none shorter than ten minutes).
func (c *Cluster) ServiceAccountSigningKey() string { return filepath.Join(c.dir, "sa.key") }

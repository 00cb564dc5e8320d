package model

import (
	"fmt"
	"net/url"
	"strings"
)

// Identity is who a client proved to be: a Kubernetes service account, as a service-account token
// or a SPIFFE certificate names it. It is what authorizes a proxy to act for a namespace.
type Identity struct {
	TrustDomain    string
	Namespace      string
	ServiceAccount string
	// Via says how it was proved, for logs: "token" or "certificate".
	Via string
}

// SPIFFEID is the identity as Istio names workloads: spiffe://<trust domain>/ns/<ns>/sa/<sa>.
func (id Identity) SPIFFEID() string {
	return "spiffe://" + id.TrustDomain + "/ns/" + id.Namespace + "/sa/" + id.ServiceAccount
}

// String is the SPIFFE ID.
func (id Identity) String() string { return id.SPIFFEID() }

// ParseSPIFFEID reads an Istio workload identity, spiffe://<trust domain>/ns/<ns>/sa/<sa>.
func ParseSPIFFEID(raw string) (Identity, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "spiffe" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return Identity{}, fmt.Errorf("%q is not a SPIFFE ID spiffe://<trust domain>/ns/<namespace>/sa/<service account>", raw)
	}
	parts := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")
	if len(parts) != 4 || parts[0] != "ns" || parts[2] != "sa" || parts[1] == "" || parts[3] == "" {
		return Identity{}, fmt.Errorf("SPIFFE ID %q: want the path /ns/<namespace>/sa/<service account>", raw)
	}
	return Identity{TrustDomain: u.Host, Namespace: parts[1], ServiceAccount: parts[3]}, nil
}

// ParseServiceAccountUser reads the user name Kubernetes gives a service account,
// system:serviceaccount:<ns>:<sa>.
func ParseServiceAccountUser(user string) (namespace, serviceAccount string, err error) {
	parts := strings.Split(user, ":")
	if len(parts) != 4 || parts[0] != "system" || parts[1] != "serviceaccount" || parts[2] == "" || parts[3] == "" {
		return "", "", fmt.Errorf("%q is not a service account's user name system:serviceaccount:<namespace>:<name>", user)
	}
	return parts[2], parts[3], nil
}

package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"

	"github.com/minipilot/minipilot/xds/adsc"
	"github.com/minipilot/minipilot/xds/auth"
)

// TestSecurePortFromFiles: with no cluster, the secure port serves a certificate from files and
// takes the new one when they are replaced (as cert-manager rotates a Secret volume), and clients
// authenticate with certificates of --client-ca.
func TestSecurePortFromFiles(t *testing.T) {
	dir := t.TempDir()
	serverCA, err := auth.NewCA("server-ca", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	clientCA, err := auth.NewCA("client-ca", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	writeServing := func() string {
		c, err := serverCA.Issue(auth.Leaf{Hosts: []string{"localhost"}, Server: true, NotBefore: time.Now(), TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		certPEM, keyPEM, err := auth.EncodeKeyPair(c)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "tls.key"), string(keyPEM))
		writeFile(t, filepath.Join(dir, "tls.crt"), string(certPEM))
		return c.Leaf.SerialNumber.String()
	}
	first := writeServing()
	writeFile(t, filepath.Join(dir, "client-ca.pem"), string(clientCA.CertPEM))
	writeFile(t, filepath.Join(dir, "config.yaml"), reviewsManifests([]Backend{{Name: "reviews-v1", Addr: "127.0.0.62:9080"}}))
	secure := FreeAddr(t)
	StartPilot(t, "--config-dir", dir, "--secure-grpc-addr", secure, "--tls-cert", filepath.Join(dir, "tls.crt"),
		"--tls-key", filepath.Join(dir, "tls.key"), "--client-ca", filepath.Join(dir, "client-ca.pem"))

	roots := x509.NewCertPool()
	roots.AddCert(serverCA.Cert)
	served := func() (string, error) {
		c, err := tls.Dial("tcp", secure, &tls.Config{RootCAs: roots, ServerName: "localhost", MinVersion: tls.VersionTLS12})
		if err != nil {
			return "", err
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.String(), nil
	}
	if got, err := served(); err != nil || got != first {
		t.Fatalf("serving %s, %v; want the certificate in the files, %s", got, err, first)
	}
	second := writeServing()
	Eventually(t, 10*time.Second, "the replaced certificate to be served", func() error {
		if got, err := served(); err != nil || got != second {
			return fmt.Errorf("serving %s, %v; want %s", got, err, second)
		}
		return nil
	})

	cert := clientCert(t, clientCA, "spiffe://cluster.local/ns/default/sa/app")
	for _, tc := range []struct {
		name string
		cert []tls.Certificate
		want codes.Code
	}{
		{"a client certificate", []tls.Certificate{cert}, codes.OK},
		{"none: tokens need a cluster", nil, codes.Unauthenticated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := grpc.NewClient(secure, grpc.WithTransportCredentials(credentials.NewTLS(
				&tls.Config{RootCAs: roots, ServerName: "localhost", Certificates: tc.cert, MinVersion: tls.VersionTLS12})))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			resp, err := firstResponse(conn, adsc.Options{NodeID: defaultSidecar})
			if tc.want != codes.OK {
				wantRefused(t, tc.name, err, tc.want, "no credentials", "client certificate")
				return
			}
			if err != nil || resp.TypeURL != resourcev3.ClusterType {
				t.Fatalf("got %q, %v; want the clusters", resp.TypeURL, err)
			}
		})
	}
}

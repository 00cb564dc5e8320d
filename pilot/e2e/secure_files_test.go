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
	"google.golang.org/grpc/status"

	"github.com/minipilot/minipilot/xds/adsc"
	"github.com/minipilot/minipilot/xds/auth"
)

// TestSecurePortFromFiles: with no cluster, the secure port serves a certificate from files and
// takes the new one when they are replaced (as cert-manager rotates a Secret volume), and clients
// authenticate with certificates of --client-ca, which is reloaded too.
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
	ads := func(certs []tls.Certificate) (adsc.Response, error) {
		conn, err := grpc.NewClient(secure, grpc.WithTransportCredentials(credentials.NewTLS(
			&tls.Config{RootCAs: roots, ServerName: "localhost", Certificates: certs, MinVersion: tls.VersionTLS12})))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return firstResponse(conn, adsc.Options{NodeID: defaultSidecar})
	}
	if resp, err := ads([]tls.Certificate{cert}); err != nil || resp.TypeURL != resourcev3.ClusterType {
		t.Fatalf("a client certificate: got %q, %v; want the clusters", resp.TypeURL, err)
	}
	_, err = ads(nil)
	wantRefused(t, "no certificate (tokens need a cluster)", err, codes.Unauthenticated, "no credentials", "client certificate")

	// A new --client-ca bundle is used without a restart: the old CA's certificates are refused.
	newCA, err := auth.NewCA("client-ca-2", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "client-ca.pem"), string(newCA.CertPEM))
	Eventually(t, 10*time.Second, "the old CA's certificate to be refused", func() error {
		if _, err := ads([]tls.Certificate{cert}); status.Code(err) != codes.Unauthenticated {
			return fmt.Errorf("got %v", err)
		}
		return nil
	})
	if resp, err := ads([]tls.Certificate{clientCert(t, newCA, "spiffe://cluster.local/ns/default/sa/app")}); err != nil || resp.TypeURL != resourcev3.ClusterType {
		t.Fatalf("a certificate of the new CA: got %q, %v", resp.TypeURL, err)
	}
}

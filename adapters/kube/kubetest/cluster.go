package kubetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const (
	startAttempts         = 3 // first starts retried on a lost free-port race
	stopGrace             = 10 * time.Second
	etcdStartTimeout      = 30 * time.Second
	apiserverStartTimeout = 90 * time.Second // generous: -race, 2-core CI
)

// Cluster is a running etcd + kube-apiserver pair owned by one test.
// Its methods must be called from the test's goroutine (they may t.Fatal).
type Cluster struct {
	// Config authenticates as a system:masters admin and trusts the
	// apiserver's generated CA. Use rest.CopyConfig before modifying it.
	Config *rest.Config
	// Client is a clientset built from Config.
	Client kubernetes.Interface
	// Kubeconfig is the path of a kubeconfig file for the same admin, e.g.
	// for `kubectl --kubeconfig`.
	Kubeconfig string

	t            testing.TB
	dir          string // logs, etcd data, certs, keys, kubeconfig
	apiserverBin string
	host         string   // https://127.0.0.1:<port>, fixed after the first start
	args         []string // kube-apiserver flags, fixed after the first start
	etcd         *process
	apiserver    *process
}

// Start runs etcd and kube-apiserver on free loopback ports and returns once
// the apiserver is ready and the default namespace exists. Everything is
// stopped by t.Cleanup; on failure the log tails are printed.
func Start(t testing.TB) *Cluster {
	t.Helper()
	began := time.Now()
	apiserverBin := requireBinary(t, "kube-apiserver", false)
	etcdBin := requireBinary(t, "etcd", false)

	// Created before the cleanup is registered so that (cleanups run LIFO)
	// the directory is removed only after the processes using it are gone.
	dir := t.TempDir()
	c := &Cluster{t: t, dir: dir, apiserverBin: apiserverBin}
	t.Cleanup(c.cleanup)

	etcdProc, etcdURL, err := startEtcd(etcdBin, dir)
	if err != nil {
		t.Fatalf("kubetest: %v", err)
	}
	c.etcd = etcdProc

	cred, err := writeCredentials(dir)
	if err != nil {
		t.Fatalf("kubetest: writing credentials: %v", err)
	}
	if err := c.firstStartAPIServer(etcdURL, cred); err != nil {
		t.Fatalf("kubetest: %v", err)
	}
	if err := c.initClients(cred.token); err != nil {
		t.Fatalf("kubetest: %v", err)
	}
	if err := ensureNamespace(c.Client, metav1.NamespaceDefault); err != nil {
		t.Fatalf("kubetest: %v", err)
	}
	t.Logf("kubetest: kube-apiserver ready at %s in %s (logs in %s)",
		c.Config.Host, time.Since(began).Round(time.Millisecond), dir)
	return c
}

// firstStartAPIServer picks the port the apiserver keeps across restarts,
// retrying with another one if the process dies before becoming ready.
func (c *Cluster) firstStartAPIServer(etcdURL string, cred credentials) error {
	var err error
	for range startAttempts {
		port, perr := freePort()
		if perr != nil {
			return perr
		}
		c.args = apiserverArgs(c.dir, etcdURL, port, cred)
		c.host = fmt.Sprintf("https://127.0.0.1:%d", port)
		// The CA only exists once the apiserver has written it, so readiness
		// is probed without verification; the token is checked all the same.
		probe := &rest.Config{Host: c.host, BearerToken: cred.token,
			TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
		if err = c.launchAPIServer(probe); !errors.Is(err, errExited) {
			return err // success, or a failure another port would not fix
		}
	}
	return err
}

func (c *Cluster) launchAPIServer(probe *rest.Config) error {
	p, err := startProcess("kube-apiserver", filepath.Join(c.dir, "kube-apiserver.log"), c.apiserverBin, c.args...)
	if err != nil {
		return err
	}
	c.apiserver = p
	return waitAPIServerReady(p, probe)
}

// initClients builds Config (verifying TLS against the generated CA bundle),
// Client and the kubeconfig file.
func (c *Cluster) initClients(token string) error {
	ca, err := os.ReadFile(filepath.Join(c.dir, "certs", "apiserver.crt"))
	if err != nil {
		return fmt.Errorf("reading generated serving cert: %w", err)
	}
	c.Config = &rest.Config{Host: c.host, BearerToken: token,
		TLSClientConfig: rest.TLSClientConfig{CAData: ca}}
	if c.Client, err = kubernetes.NewForConfig(c.Config); err != nil {
		return err
	}
	c.Kubeconfig = filepath.Join(c.dir, "kubeconfig")
	return writeKubeconfig(c.Kubeconfig, c.Config)
}

// Stop stops kube-apiserver only (etcd keeps running), e.g. to test how
// clients behave while the control plane is down. It is idempotent.
func (c *Cluster) Stop() {
	if c.apiserver != nil {
		c.apiserver.stop(stopGrace)
	}
}

// Restart stops kube-apiserver if it is running and starts it again on the
// same port with the same etcd, certificates and credentials, so Config,
// Client and Kubeconfig stay valid. It returns once /readyz is OK.
func (c *Cluster) Restart() {
	c.t.Helper()
	began := time.Now()
	c.Stop()
	if err := c.launchAPIServer(c.Config); err != nil {
		c.t.Fatalf("kubetest: restarting kube-apiserver: %v", err)
	}
	c.t.Logf("kubetest: kube-apiserver restarted in %s", time.Since(began).Round(time.Millisecond))
}

func (c *Cluster) cleanup() {
	c.Stop()
	if c.etcd != nil {
		c.etcd.stop(stopGrace)
	}
	if !c.t.Failed() {
		return
	}
	for _, name := range []string{"etcd.log", "kube-apiserver.log"} {
		path := filepath.Join(c.dir, name)
		if _, err := os.Stat(path); err == nil {
			c.t.Logf("kubetest: tail of %s:\n%s", path, tailFile(path))
		}
	}
}

// ensureNamespace creates a namespace unless it exists. The apiserver's
// system-namespaces controller creates "default" shortly after startup, but
// /readyz does not wait for it.
func ensureNamespace(client kubernetes.Interface, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		return err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	_, err = client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

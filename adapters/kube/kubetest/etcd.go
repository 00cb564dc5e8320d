package kubetest

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"time"
)

// startEtcd runs a single-member etcd on free loopback ports with its data in
// dir/etcd, and waits until it reports healthy. It retries with new ports if
// etcd dies before becoming healthy (typically a port taken in the meantime).
func startEtcd(bin, dir string) (*process, string, error) {
	var lastErr error
	for range startAttempts {
		clientPort, err := freePort()
		if err != nil {
			return nil, "", err
		}
		peerPort, err := freePort()
		if err != nil {
			return nil, "", err
		}
		clientURL := fmt.Sprintf("http://127.0.0.1:%d", clientPort)
		peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
		p, err := startProcess("etcd", filepath.Join(dir, "etcd.log"), bin,
			"--name=kubetest",
			"--data-dir="+filepath.Join(dir, "etcd"),
			"--listen-client-urls="+clientURL,
			"--advertise-client-urls="+clientURL,
			"--listen-peer-urls="+peerURL,
			"--initial-advertise-peer-urls="+peerURL,
			"--initial-cluster=kubetest="+peerURL,
			// Test data is throwaway; fsync would dominate write latency.
			"--unsafe-no-fsync=true",
			// Keep the log tail printed on failure readable.
			"--log-level=warn",
		)
		if err != nil {
			return nil, "", err
		}
		lastErr = waitEtcdHealthy(p, clientURL)
		if lastErr == nil {
			return p, clientURL, nil
		}
		p.stop(stopGrace)
		if !errors.Is(lastErr, errExited) {
			break // a hang is not a port race; do not retry it
		}
	}
	return nil, "", lastErr
}

func waitEtcdHealthy(p *process, clientURL string) error {
	client := &http.Client{Timeout: time.Second}
	return poll(etcdStartTimeout, "etcd /health", func() error {
		if err := p.exited(); err != nil {
			return permanent(err)
		}
		resp, err := client.Get(clientURL + "/health")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("etcd /health: %s", resp.Status)
		}
		return nil
	})
}

package auth

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	clocktesting "k8s.io/utils/clock/testing"
)

func TestRotatingCertIsReissuedBeforeItExpires(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now())
	ca, err := NewCA("test", clk.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRotatingCert(ca, []string{"minipilot.istio-system.svc", "127.0.0.1"}, 3*time.Hour, clk, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	first := r.Get()
	if first.Leaf.VerifyHostname("minipilot.istio-system.svc") != nil || first.Leaf.VerifyHostname("127.0.0.1") != nil {
		t.Fatalf("the certificate is not for its hosts: %v %v", first.Leaf.DNSNames, first.Leaf.IPAddresses)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	waitTimer := func() {
		for !clk.HasWaiters() {
			time.Sleep(time.Millisecond)
		}
	}
	waitTimer()
	clk.Step(time.Hour + 59*time.Minute) // before 2/3 of its life: kept
	if r.Get() != first {
		t.Fatal("reissued too early")
	}
	clk.Step(2 * time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	for r.Get() == first {
		if time.Now().After(deadline) {
			t.Fatal("not reissued after 2/3 of its life")
		}
		time.Sleep(time.Millisecond)
	}
	if !r.Get().Leaf.NotAfter.After(first.Leaf.NotAfter) {
		t.Error("the new certificate does not outlive the old")
	}
}

func TestReloadingKeepsTheLastGoodVersion(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "ca.pem")
	ca, err := NewCA("test", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewReloading("bundle", []string{file}, func() (string, error) { _, err := LoadCABundle(file); return "", err }, zap.NewNop()); err == nil {
		t.Fatal("a bundle without certificates was loaded")
	}
	if err := os.WriteFile(file, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	loads := 0
	r, err := NewReloading("bundle", []string{file}, func() (int, error) {
		if _, err := LoadCABundle(file); err != nil {
			return 0, err
		}
		loads++
		return loads, nil
	}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("half-written"), 0o600); err != nil {
		t.Fatal(err)
	}
	r.reload()
	if r.Get() != 1 {
		t.Fatalf("a bad file replaced the good version: %d", r.Get())
	}
	if err := os.WriteFile(file, ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	r.reload()
	if r.Get() != 2 {
		t.Fatalf("the fixed file was not loaded: %d", r.Get())
	}
}

package pilot

import (
	"flag"
	"slices"
	"strings"
	"testing"
)

func parse(t *testing.T, args ...string) *Config {
	t.Helper()
	fs := flag.NewFlagSet("pilot-discovery", flag.ContinueOnError)
	cfg := BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestConfigSources(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{nil, "no config source"},
		{[]string{"--remote-kubeconfig", "west=/k"}, "no config source"},
		{[]string{"--config-dir", "/d"}, ""},
		{[]string{"--kubeconfig", "/k"}, ""},
		{[]string{"--in-cluster"}, ""},
		{[]string{"--kubeconfig", "/k", "--config-dir", "/d"}, ""},
		{[]string{"--kubeconfig", "/k", "--in-cluster"}, "give one"},
		{[]string{"--kubeconfig", "/k", "--log-format", "text"}, "--log-format"},
		{[]string{"--kubeconfig", "/k", "--log-level", "loud"}, "--log-level"},
		{[]string{"--kubeconfig", "/k", "--remote-kubeconfig", "west="}, "no path"},
	} {
		err := parse(t, tc.args...).Validate()
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%v: got %v, want an error with %q", tc.args, err, tc.wantErr)
		}
	}
}

func TestConfigKubeFlags(t *testing.T) {
	cfg := parse(t, "--kubeconfig", "/k", "--watch-namespaces", "a, b,,c", "--remote-kubeconfig", "west=/w,/n",
		"--remote-kubeconfig", "south=/s")
	if !slices.Equal(cfg.WatchNamespaces, []string{"a", "b", "c"}) {
		t.Errorf("watch namespaces %q", cfg.WatchNamespaces)
	}
	if !slices.Equal(cfg.RemoteKubeconfigs, []string{"west=/w,/n", "south=/s"}) {
		t.Errorf("remote kubeconfigs %q", cfg.RemoteKubeconfigs)
	}
	if cfg.LeaderElectionNamespace != "" {
		t.Errorf("leader election namespace %q, want empty (pilot's own)", cfg.LeaderElectionNamespace)
	}
}

func TestConfigListenerDefaults(t *testing.T) {
	for _, tc := range []struct {
		args              []string
		plaintext, secure string
	}{
		{[]string{"--config-dir", "/d"}, ":15010", ""},
		// With a cluster, plaintext xDS is for this host only: proxies use the secure port.
		{[]string{"--kubeconfig", "/k"}, "127.0.0.1:15010", ""},
		{[]string{"--kubeconfig", "/k", "--grpc-addr", ":15010"}, ":15010", ""},
		{[]string{"--kubeconfig", "/k", "--self-signed-ca"}, "127.0.0.1:15010", ":15012"},
		{[]string{"--kubeconfig", "/k", "--self-signed-ca", "--grpc-addr", "off", "--secure-grpc-addr", ":9"}, "", ":9"},
		{[]string{"--config-dir", "/d", "--tls-cert", "c", "--tls-key", "k", "--client-ca", "ca"}, ":15010", ":15012"},
		{[]string{"--kubeconfig", "/k", "--tls-cert", "c", "--tls-key", "k", "--secure-grpc-addr", "off"}, "127.0.0.1:15010", ""},
	} {
		cfg := parse(t, tc.args...)
		if err := cfg.Validate(); err != nil {
			t.Errorf("%v: %v", tc.args, err)
		}
		if cfg.PlaintextAddr() != tc.plaintext || cfg.SecureAddr() != tc.secure {
			t.Errorf("%v: plaintext %q secure %q, want %q and %q", tc.args, cfg.PlaintextAddr(), cfg.SecureAddr(), tc.plaintext, tc.secure)
		}
	}
}

func TestConfigSecurityErrors(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--kubeconfig", "/k", "--tls-cert", "c"}, "--tls-cert and --tls-key go together"},
		{[]string{"--kubeconfig", "/k", "--tls-cert", "c", "--tls-key", "k", "--self-signed-ca"}, "give one"},
		{[]string{"--config-dir", "/d", "--self-signed-ca"}, "keeps its CA in a Secret"},
		{[]string{"--kubeconfig", "/k", "--secure-grpc-addr", ":15012"}, "needs a serving certificate"},
		{[]string{"--config-dir", "/d", "--tls-cert", "c", "--tls-key", "k"}, "cannot authenticate anyone"},
		{[]string{"--config-dir", "/d", "--grpc-addr", "off"}, "would serve no proxy"},
		{[]string{"--config-dir", "/d", "--http-addr", ":15014"}, "is not a loopback address"},
		{[]string{"--kubeconfig", "/k", "--token-audience", ","}, "--token-audience"},
	} {
		err := parse(t, tc.args...).Validate()
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%v: got %v, want an error with %q", tc.args, err, tc.wantErr)
		}
	}
	if cfg := parse(t, "--kubeconfig", "/k", "--http-addr", ":15014"); cfg.Validate() != nil {
		t.Errorf("a non-loopback debug listener with a cluster (guarded): %v", cfg.Validate())
	}
	for addr, want := range map[string]bool{"127.0.0.1:1": true, "[::1]:1": true, "localhost:1": true, ":1": false, "0.0.0.0:1": false, "10.0.0.1:1": false} {
		if isLoopback(addr) != want {
			t.Errorf("isLoopback(%q) = %v", addr, !want)
		}
	}
}

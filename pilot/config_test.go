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

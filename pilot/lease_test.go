package pilot

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLeaseNamespace(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u, namespace: mesh}}]
current-context: x
`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	for _, tc := range []struct {
		cfg  Config
		env  map[string]string
		want string
	}{
		{Config{LeaderElectionNamespace: "given", Kubeconfig: kubeconfig}, map[string]string{"POD_NAMESPACE": "pods"}, "given"},
		{Config{Kubeconfig: kubeconfig}, map[string]string{"POD_NAMESPACE": "pods"}, "pods"},
		{Config{Kubeconfig: kubeconfig}, nil, "mesh"},
		{Config{Kubeconfig: filepath.Join(t.TempDir(), "missing")}, nil, "default"},
		{Config{ConfigDir: "/d"}, nil, "default"},
	} {
		if got := tc.cfg.LeaseNamespace(env(tc.env)); got != tc.want {
			t.Errorf("%+v with %v: %q, want %q", tc.cfg, tc.env, got, tc.want)
		}
	}
}

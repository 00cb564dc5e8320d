package kube

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/minipilot/minipilot/model"
)

func TestParseRemoteSpecs(t *testing.T) {
	got, err := ParseRemoteSpecs([]string{"west=/etc/west.yaml,/etc/north.yaml", " south=rel/s.yaml ", "/a/b=c.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	want := []RemoteSpec{{"west", "/etc/west.yaml"}, {"", "/etc/north.yaml"}, {"south", "rel/s.yaml"}, {"", "/a/b=c.yaml"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for _, bad := range []string{"=x.yaml", "west="} {
		if _, err := ParseRemoteSpecs([]string{bad}); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

func TestLoadKubeconfigNamesTheClusterAfterTheContext(t *testing.T) {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["c"] = &clientcmdapi.Cluster{Server: "https://192.0.2.1:6443"}
	kc.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: "t"}
	kc.Contexts["prod-west"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	kc.CurrentContext = "prod-west"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	c, err := LoadKubeconfig(path, "")
	if err != nil || c.Name != "prod-west" || c.Config.Host != "https://192.0.2.1:6443" || c.Config.QPS != 50 {
		t.Fatalf("got %+v, %v", c, err)
	}
	if c, err := LoadKubeconfig(path, "west"); err != nil || c.Name != "west" {
		t.Fatalf("an explicit name: got %+v, %v", c, err)
	}
	if _, err := LoadKubeconfig(filepath.Join(t.TempDir(), "missing"), ""); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("a missing file: %v", err)
	}
	if err := os.WriteFile(path, []byte("not: [a kubeconfig"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKubeconfig(path, ""); err == nil {
		t.Fatal("a broken kubeconfig: want an error")
	}
	if err := UniqueNames([]Cluster{{Name: "a", Config: &rest.Config{}}, {Name: "a"}}); err == nil {
		t.Fatal("duplicate cluster names: want an error")
	}
}

func TestDesiredCondition(t *testing.T) {
	good := &model.VirtualService{Meta: model.Meta{Generation: 3}}
	rej := &model.Rejection{Reason: "spec.http[0].route: the weights add up to 90, not 100"}
	for _, tc := range []struct {
		entry  configEntry
		status string
		reason string
		msg    string
	}{
		{configEntry{generation: 4, inForce: good}, "True", ReasonAccepted, "generation 4 is valid and in force"},
		{configEntry{generation: 4, inForce: good, rejection: rej}, "False", ReasonInvalidSpec,
			"spec.http[0].route: the weights add up to 90, not 100; the last valid version (generation 3) stays in force"},
		{configEntry{generation: 4, rejection: rej}, "False", ReasonInvalidSpec,
			"spec.http[0].route: the weights add up to 90, not 100; the rule is not applied"},
	} {
		c := desiredCondition(4, tc.entry)
		if string(c.Status) != tc.status || c.Reason != tc.reason || c.Message != tc.msg || c.ObservedGeneration != 4 || c.Type != ConditionReconciled {
			t.Errorf("got %+v, want %s %s %q", c, tc.status, tc.reason, tc.msg)
		}
	}
}

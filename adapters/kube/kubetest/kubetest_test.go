package kubetest_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/minipilot/minipilot/adapters/kube/kubetest"
)

func TestClusterServiceSurvivesAPIServerRestart(t *testing.T) {
	c := kubetest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	if _, err := c.Client.CoreV1().Namespaces().Get(ctx, metav1.NamespaceDefault, metav1.GetOptions{}); err != nil {
		t.Fatalf("default namespace: %v", err)
	}

	const ns, name = "kubetest", "echo"
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	svc, err := c.Client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating service: %v", err)
	}
	if ip, err := netip.ParseAddr(svc.Spec.ClusterIP); err != nil ||
		!netip.MustParsePrefix(kubetest.ServiceCIDR).Contains(ip) {
		t.Errorf("ClusterIP %q not in %s", svc.Spec.ClusterIP, kubetest.ServiceCIDR)
	}

	stdout, stderr, err := c.Kubectl(t, "get", "svc", "-n", ns, "-o", "json")
	if err != nil {
		t.Fatalf("kubectl get svc: %v\n%s", err, stderr)
	}
	var list corev1.ServiceList
	if err := json.Unmarshal([]byte(stdout), &list); err != nil {
		t.Fatalf("decoding kubectl output: %v\n%s", err, stdout)
	}
	if len(list.Items) != 1 || list.Items[0].Name != name {
		t.Fatalf("kubectl listed %d services, want just %q:\n%s", len(list.Items), name, stdout)
	}

	c.Stop()
	if _, err := c.Client.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
		t.Fatal("Get succeeded while kube-apiserver was stopped")
	}

	c.Restart()
	got, err := c.Client.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("service after restart: %v", err)
	}
	if got.UID != svc.UID || got.Spec.ClusterIP != svc.Spec.ClusterIP {
		t.Errorf("service changed across restart: uid %s→%s, clusterIP %s→%s",
			svc.UID, got.UID, svc.Spec.ClusterIP, got.Spec.ClusterIP)
	}
}

package kubeauth

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// CA Secret keys, as Istio's istio-ca-secret names them.
const (
	CACertKey = "ca-cert.pem"
	CAKeyKey  = "ca-key.pem"
)

// LoadOrCreateSecret returns the data of a Secret, creating it with make's data when it does not
// exist. Replicas starting at once race to create it; the losers read the winner's, so that every
// replica signs with one CA.
func LoadOrCreateSecret(ctx context.Context, client kubernetes.Interface, namespace, name string, make func() (map[string][]byte, error)) (map[string][]byte, error) {
	secrets := client.CoreV1().Secrets(namespace)
	s, err := secrets.Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		return s.Data, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("reading Secret %s/%s: %w", namespace, name, err)
	}
	data, err := make()
	if err != nil {
		return nil, err
	}
	created, err := secrets.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: map[string]string{"app.kubernetes.io/managed-by": "minipilot"}},
		Type:       "istio.io/ca-root", Data: data,
	}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		if s, err = secrets.Get(ctx, name, metav1.GetOptions{}); err != nil {
			return nil, fmt.Errorf("reading Secret %s/%s: %w", namespace, name, err)
		}
		return s.Data, nil
	}
	if err != nil {
		return nil, fmt.Errorf("creating Secret %s/%s: %w", namespace, name, err)
	}
	return created.Data, nil
}

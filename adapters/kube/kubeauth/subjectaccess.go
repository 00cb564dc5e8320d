package kubeauth

import (
	"context"
	"fmt"

	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Authorizer asks the API server, with a SubjectAccessReview, whether a user may do something.
type Authorizer struct {
	client kubernetes.Interface
}

// NewAuthorizer authorizes with client.
func NewAuthorizer(client kubernetes.Interface) *Authorizer { return &Authorizer{client: client} }

// AllowedPath says whether a user may use verb on a non-resource URL path: what RBAC's
// nonResourceURLs rules grant (a ClusterRole with nonResourceURLs: ["/debug/*"], verbs: [get]).
func (a *Authorizer) AllowedPath(ctx context.Context, user authnv1.UserInfo, verb, path string) (bool, string, error) {
	extra := map[string]authzv1.ExtraValue{}
	for k, v := range user.Extra {
		extra[k] = authzv1.ExtraValue(v)
	}
	sar, err := a.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{
		Spec: authzv1.SubjectAccessReviewSpec{
			User: user.Username, UID: user.UID, Groups: user.Groups, Extra: extra,
			NonResourceAttributes: &authzv1.NonResourceAttributes{Path: path, Verb: verb},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, "", fmt.Errorf("asking the API server whether %q may %s %s: %w", user.Username, verb, path, err)
	}
	return sar.Status.Allowed && !sar.Status.Denied, sar.Status.Reason, nil
}

package kubeauth

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
)

// jwtWithExpiry is a token-shaped string with an exp claim (the fake API server does not verify it).
func jwtWithExpiry(sub string, exp time.Time) string {
	payload := fmt.Sprintf(`{"sub":%q,"exp":%d}`, sub, exp.Unix())
	return "e30." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".sig"
}

// reviewingClient answers TokenReviews as the API server would for tokens of service accounts,
// counting them; tokens containing "bad" are refused, "user" ones are a person's.
func reviewingClient(reviews *atomic.Int32) *fake.Clientset {
	client := fake.NewClientset()
	client.PrependReactor("create", "tokenreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		reviews.Add(1)
		tr := a.(k8stesting.CreateAction).GetObject().(*authnv1.TokenReview).DeepCopy()
		switch tok := tr.Spec.Token; {
		case strings.Contains(tok, "bad"):
			tr.Status = authnv1.TokenReviewStatus{Error: "invalid bearer token, token has expired"}
		case strings.Contains(tok, "user"):
			tr.Status = authnv1.TokenReviewStatus{Authenticated: true, Audiences: tr.Spec.Audiences, User: authnv1.UserInfo{Username: "alice", Groups: []string{"system:authenticated"}}}
		default:
			tr.Status = authnv1.TokenReviewStatus{Authenticated: true, Audiences: []string{"istio-ca"},
				User: authnv1.UserInfo{Username: "system:serviceaccount:a:app", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:a"}}}
		}
		return true, tr, nil
	})
	return client
}

func TestTokenReviewIsCachedForTheTokensLifetime(t *testing.T) {
	var reviews atomic.Int32
	clk := clocktesting.NewFakeClock(time.Now())
	r := NewTokenReviewer(reviewingClient(&reviews), "cluster.local", clk).ForAudiences([]string{"istio-ca"})
	token := jwtWithExpiry("system:serviceaccount:a:app", clk.Now().Add(time.Hour))
	for range 3 {
		id, err := r.AuthenticateToken(context.Background(), token)
		if err != nil || id.SPIFFEID() != "spiffe://cluster.local/ns/a/sa/app" || id.Via != "token" {
			t.Fatalf("got %+v, %v", id, err)
		}
	}
	if n := reviews.Load(); n != 1 {
		t.Fatalf("%d TokenReviews for one token, want 1 (cached)", n)
	}
	clk.Step(time.Hour)
	if _, err := r.AuthenticateToken(context.Background(), token); err != nil {
		t.Fatal(err)
	}
	if n := reviews.Load(); n != 2 {
		t.Fatalf("%d TokenReviews, want the expired cache entry to be reviewed again", n)
	}
	// Refusals are not remembered: a fixed token (or a recovered API server) counts at once.
	for range 2 {
		if _, err := r.AuthenticateToken(context.Background(), "bad"); err == nil || !strings.Contains(err.Error(), "token has expired") {
			t.Fatalf("a bad token: %v", err)
		}
	}
	if n := reviews.Load(); n != 4 {
		t.Fatalf("%d TokenReviews, want every refused one asked again", n)
	}
}

func TestTokenReviewRefusals(t *testing.T) {
	var reviews atomic.Int32
	r := NewTokenReviewer(reviewingClient(&reviews), "cluster.local", clocktesting.NewFakeClock(time.Now()))
	if _, err := r.AuthenticateToken(context.Background(), "user", []string{"istio-ca"}); err == nil || !strings.Contains(err.Error(), "not a service account") {
		t.Errorf("a person's token: %v", err)
	}
	if _, err := r.AuthenticateToken(context.Background(), "sa", []string{"other"}); err == nil || !strings.Contains(err.Error(), "want one of [other]") {
		t.Errorf("a token for another audience: %v", err)
	}
	if u, err := r.Review(context.Background(), "user", nil); err != nil || u.Username != "alice" {
		t.Errorf("a person's token for the API server's audience: %+v %v", u, err)
	}
}

func TestJWTExpiry(t *testing.T) {
	exp := time.Unix(1900000000, 0)
	if got, ok := jwtExpiry(jwtWithExpiry("x", exp)); !ok || !got.Equal(exp) {
		t.Errorf("got %v %v", got, ok)
	}
	for _, bad := range []string{"", "a.b", "a.!!!.c", "a." + base64.RawURLEncoding.EncodeToString([]byte(`{"exp":"soon"}`)) + ".c"} {
		if _, ok := jwtExpiry(bad); ok {
			t.Errorf("%q has an expiry", bad)
		}
	}
}

func TestLoadOrCreateSecretUsesTheWinnersCA(t *testing.T) {
	client := fake.NewClientset()
	// Another replica creates it between our Get and our Create.
	client.PrependReactor("create", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		winner := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "istio-ca-secret", Namespace: "istio-system"}, Data: map[string][]byte{CACertKey: []byte("winner")}}
		if err := client.Tracker().Add(winner); err != nil {
			return true, nil, err
		}
		return true, nil, apierrors.NewAlreadyExists(corev1.Resource("secrets"), "istio-ca-secret")
	})
	data, err := LoadOrCreateSecret(context.Background(), client, "istio-system", "istio-ca-secret", func() (map[string][]byte, error) {
		return map[string][]byte{CACertKey: []byte("loser")}, nil
	})
	if err != nil || string(data[CACertKey]) != "winner" {
		t.Fatalf("got %q, %v; want the winner's", data[CACertKey], err)
	}
	again, err := LoadOrCreateSecret(context.Background(), client, "istio-system", "istio-ca-secret", func() (map[string][]byte, error) {
		t.Fatal("made a CA while one exists")
		return nil, nil
	})
	if err != nil || string(again[CACertKey]) != "winner" {
		t.Fatalf("got %q, %v", again[CACertKey], err)
	}
}

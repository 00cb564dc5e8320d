// Package kubeauth asks the Kubernetes API server who a client is and what it may do: TokenReview
// for service-account tokens (xDS streams, debug requests), SubjectAccessReview for the debug
// endpoints. It also keeps pilot's self-signed CA in a Secret and publishes its root to every
// namespace, as Istio does.
package kubeauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"golang.org/x/sync/singleflight"

	"github.com/minipilot/minipilot/model"
)

const (
	// noExpiryTTL is how long a token without an expiry (a legacy Secret-based token) stays cached.
	noExpiryTTL = 5 * time.Minute
	// maxCached bounds the cache; when full, expired entries go, and if that is not enough, all.
	maxCached = 10000
	// reviewTimeout bounds one TokenReview.
	reviewTimeout = 10 * time.Second
	// serviceAccountsGroup is the group of every service account's user.
	serviceAccountsGroup = "system:serviceaccounts"
)

// TokenReviewer checks bearer tokens with the API server's TokenReview, and remembers a token the
// API server accepted until it expires, so that reconnecting proxies cost the API server nothing.
// A refused token is not remembered: the next attempt asks again.
type TokenReviewer struct {
	client kubernetes.Interface
	clock  clock.PassiveClock
	// trustDomain names the identities tokens prove.
	trustDomain string

	mu    sync.Mutex
	cache map[cacheKey]cachedUser
	// inflight makes the streams of one proxy, reconnecting at once, share one review.
	inflight singleflight.Group
}

type cacheKey struct {
	token     [sha256.Size]byte // a hash: the cache holds no tokens
	audiences string
}

type cachedUser struct {
	user    authnv1.UserInfo
	expires time.Time
}

// NewTokenReviewer reviews tokens with client.
func NewTokenReviewer(client kubernetes.Interface, trustDomain string, clk clock.PassiveClock) *TokenReviewer {
	return &TokenReviewer{client: client, clock: clk, trustDomain: trustDomain, cache: map[cacheKey]cachedUser{}}
}

// Review returns the user a token authenticates, for the given audiences (none: the API server's
// own). The token must be valid for one of them.
func (r *TokenReviewer) Review(ctx context.Context, token string, audiences []string) (authnv1.UserInfo, error) {
	key := cacheKey{token: sha256.Sum256([]byte(token)), audiences: strings.Join(audiences, ",")}
	now := r.clock.Now()
	r.mu.Lock()
	c, ok := r.cache[key]
	r.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.user, nil
	}
	v, err, _ := r.inflight.Do(fmt.Sprintf("%x/%s", key.token, key.audiences), func() (any, error) {
		// Shared by every caller waiting: the first one's cancellation must not fail the others.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reviewTimeout)
		defer cancel()
		return r.review(rctx, token, audiences)
	})
	if err != nil {
		return authnv1.UserInfo{}, err
	}
	user := v.(authnv1.UserInfo)
	r.remember(key, user, now, token)
	return user, nil
}

func (r *TokenReviewer) review(ctx context.Context, token string, audiences []string) (authnv1.UserInfo, error) {
	review, err := r.client.AuthenticationV1().TokenReviews().Create(ctx,
		&authnv1.TokenReview{Spec: authnv1.TokenReviewSpec{Token: token, Audiences: audiences}}, metav1.CreateOptions{})
	if err != nil {
		return authnv1.UserInfo{}, fmt.Errorf("asking the API server to review the token: %w", err)
	}
	st := review.Status
	switch {
	case st.Error != "":
		return authnv1.UserInfo{}, fmt.Errorf("the API server refused the token: %s", st.Error)
	case !st.Authenticated:
		return authnv1.UserInfo{}, errors.New("the API server did not authenticate the token")
	case len(audiences) > 0 && !slices.ContainsFunc(st.Audiences, func(a string) bool { return slices.Contains(audiences, a) }):
		return authnv1.UserInfo{}, fmt.Errorf("the token is for audiences %v, want one of %v", st.Audiences, audiences)
	}
	return st.User, nil
}

// remember caches a reviewed user until the token expires. The expiry is read from the token
// unverified, which is safe only because the API server has just verified it.
func (r *TokenReviewer) remember(key cacheKey, user authnv1.UserInfo, now time.Time, token string) {
	expires := now.Add(noExpiryTTL)
	if exp, ok := jwtExpiry(token); ok {
		expires = exp
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.cache) >= maxCached {
		for k, c := range r.cache {
			if !now.Before(c.expires) {
				delete(r.cache, k)
			}
		}
		if len(r.cache) >= maxCached {
			clear(r.cache)
		}
	}
	r.cache[key] = cachedUser{user: user, expires: expires}
}

// AuthenticateToken proves a service account's identity by its token: the token must be for one of
// audiences and name a service account.
func (r *TokenReviewer) AuthenticateToken(ctx context.Context, token string, audiences []string) (model.Identity, error) {
	user, err := r.Review(ctx, token, audiences)
	if err != nil {
		return model.Identity{}, err
	}
	if !slices.Contains(user.Groups, serviceAccountsGroup) {
		return model.Identity{}, fmt.Errorf("%q is not a service account", user.Username)
	}
	ns, sa, err := model.ParseServiceAccountUser(user.Username)
	if err != nil {
		return model.Identity{}, err
	}
	return model.Identity{TrustDomain: r.trustDomain, Namespace: ns, ServiceAccount: sa, Via: "token"}, nil
}

// ForAudiences is the TokenReviewer as an xDS token authenticator for the given audiences.
func (r *TokenReviewer) ForAudiences(audiences []string) Audienced {
	return Audienced{r: r, audiences: audiences}
}

// Audienced checks service-account tokens for fixed audiences.
type Audienced struct {
	r         *TokenReviewer
	audiences []string
}

// AuthenticateToken is TokenReviewer.AuthenticateToken for the audiences.
func (a Audienced) AuthenticateToken(ctx context.Context, token string) (model.Identity, error) {
	return a.r.AuthenticateToken(ctx, token, a.audiences)
}

// jwtExpiry is a JWT's exp claim.
func jwtExpiry(token string) (time.Time, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp *json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == nil {
		return time.Time{}, false
	}
	sec, err := claims.Exp.Int64()
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(sec, 0), true
}

package podrunner

import (
	"context"
	"fmt"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// tokens holds the ServiceAccount tokens of one pod's projected volumes,
// requested from the TokenRequest API, bound to the pod (the API server
// refuses them once the pod is gone), and renewed as the kubelet renews
// them: after 80% of their lifetime, or after a day.
type tokens struct {
	cs  kubernetes.Interface
	now func() time.Time
	mu  sync.Mutex
	got map[string]issuedToken
}

type issuedToken struct {
	token   string
	issued  time.Time
	expires time.Time
}

func newTokens(cs kubernetes.Interface) *tokens {
	return &tokens{cs: cs, now: time.Now, got: map[string]issuedToken{}}
}

// due reports whether t must be renewed.
func (t issuedToken) due(now time.Time) bool {
	life := t.expires.Sub(t.issued)
	return now.After(t.issued.Add(life*8/10)) || now.Sub(t.issued) > 24*time.Hour
}

// get returns a valid token for the pod's ServiceAccount with the given
// audience (empty: the API server's) and requested lifetime.
func (t *tokens) get(ctx context.Context, pod *corev1.Pod, audience string, expirationSeconds *int64) (string, error) {
	key := fmt.Sprintf("%s|%d", audience, ptr.Deref(expirationSeconds, 0))
	t.mu.Lock()
	defer t.mu.Unlock()
	if cur, ok := t.got[key]; ok && !cur.due(t.now()) {
		return cur.token, nil
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: expirationSeconds,
		BoundObjectRef: &authenticationv1.BoundObjectReference{
			Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID,
		},
	}}
	if audience != "" {
		req.Spec.Audiences = []string{audience}
	}
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	issued := t.now()
	got, err := t.cs.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, req, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("request a token for ServiceAccount %s/%s: %w", pod.Namespace, sa, err)
	}
	t.got[key] = issuedToken{token: got.Status.Token, issued: issued, expires: got.Status.ExpirationTimestamp.Time}
	return got.Status.Token, nil
}

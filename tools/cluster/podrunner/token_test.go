package podrunner

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
)

// TestTokensRenewBeforeExpiry: a token is asked for once, bound to the pod,
// and asked for again after 80% of its life.
func TestTokensRenewBeforeExpiry(t *testing.T) {
	cs := fake.NewClientset()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var requests []*authenticationv1.TokenRequest
	cs.PrependReactor("create", "serviceaccounts", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "token" {
			return false, nil, nil
		}
		req := a.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenRequest).DeepCopy()
		requests = append(requests, req)
		life := time.Duration(ptr.Deref(req.Spec.ExpirationSeconds, 3600)) * time.Second
		req.Status = authenticationv1.TokenRequestStatus{
			Token:               fmt.Sprintf("token-%d", len(requests)),
			ExpirationTimestamp: metav1.NewTime(now.Add(life)),
		}
		return true, req, nil
	})
	tok := newTokens(cs)
	tok.now = func() time.Time { return now }
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "runner-0", Namespace: "fleet", UID: "u-1"}, Spec: corev1.PodSpec{ServiceAccountName: "runner"}}
	get := func() string {
		s, err := tok.get(context.Background(), pod, "", ptr.To[int64](3607))
		require.NoError(t, err)
		return s
	}
	assert.Equal(t, "token-1", get())
	require.Len(t, requests, 1)
	ref := requests[0].Spec.BoundObjectRef
	require.NotNil(t, ref)
	assert.Equal(t, authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "runner-0", UID: "u-1"}, *ref, "bound to the pod")
	assert.Empty(t, requests[0].Spec.Audiences, "the API server's audience")

	now = now.Add(47 * time.Minute)
	assert.Equal(t, "token-1", get(), "before 80% of its life: the same token")
	now = now.Add(2 * time.Minute)
	assert.Equal(t, "token-2", get(), "after 80% of its life: a new one")
	assert.Len(t, requests, 2)
}

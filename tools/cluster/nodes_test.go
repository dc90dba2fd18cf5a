package cluster

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestPutBack(t *testing.T) {
	want := FakeNode(1)

	same := want.DeepCopy()
	same.Labels["extra"] = "kept"
	assert.False(t, putBack(same, want), "nothing to change: no write")
	assert.Equal(t, "kept", same.Labels["extra"])

	bare := &corev1.Node{}
	bare.Name = want.Name
	assert.True(t, putBack(bare, want))
	assert.Equal(t, want.Labels, bare.Labels)
	assert.Equal(t, want.Annotations, bare.Annotations)

	edited := want.DeepCopy()
	edited.Labels["type"] = "other"
	delete(edited.Annotations, KwokNodeAnnotation)
	edited.Annotations["extra"] = "kept"
	assert.True(t, putBack(edited, want))
	assert.Equal(t, "kwok", edited.Labels["type"])
	assert.Equal(t, KwokNodeAnnotationValue, edited.Annotations[KwokNodeAnnotation])
	assert.Equal(t, "kept", edited.Annotations["extra"])

	tainted := want.DeepCopy()
	tainted.Spec.Taints = []corev1.Taint{{Key: "node.kubernetes.io/unreachable", Effect: corev1.TaintEffectNoSchedule}}
	assert.True(t, putBack(tainted, want))
	assert.Empty(t, tainted.Spec.Taints)
}

func TestPutBackCapacity(t *testing.T) {
	want := FakeNode(0)
	assert.False(t, putBackCapacity(want.DeepCopy(), want), "nothing to change: no write")

	old := want.DeepCopy()
	delete(old.Status.Capacity, corev1.ResourceEphemeralStorage)
	delete(old.Status.Allocatable, corev1.ResourceEphemeralStorage)
	old.Status.Capacity["example.com/gpu"] = resource.MustParse("1")
	assert.True(t, putBackCapacity(old, want), "a node made before ephemeral-storage was given")
	assert.Equal(t, "1Ti", old.Status.Allocatable.StorageEphemeral().String())
	assert.Equal(t, "1", ptrValue(old.Status.Capacity, "example.com/gpu"), "other resources are kept")
}

func ptrValue(list corev1.ResourceList, name corev1.ResourceName) string {
	q := list[name]
	return q.String()
}

func TestRetriable(t *testing.T) {
	nodes := schema.GroupResource{Resource: "nodes"}
	assert.True(t, retriable(apierrors.NewConflict(nodes, "kwok-node-0", assert.AnError)), "lost a race")
	assert.True(t, retriable(fmt.Errorf("update node kwok-node-0: %w", apierrors.NewConflict(nodes, "kwok-node-0", assert.AnError))),
		"wrapped as ensureNode does")
	assert.True(t, retriable(apierrors.NewAlreadyExists(nodes, "kwok-node-0")), "created by someone else first")
	assert.True(t, retriable(apierrors.NewServerTimeout(nodes, "update", 1)), "busy apiserver")
	assert.True(t, retriable(apierrors.NewTooManyRequests("busy", 1)), "busy apiserver")
	assert.False(t, retriable(apierrors.NewForbidden(nodes, "kwok-node-0", assert.AnError)), "retrying does not help")
	assert.False(t, retriable(apierrors.NewInvalid(schema.GroupKind{Kind: "Node"}, "kwok-node-0", nil)))
}

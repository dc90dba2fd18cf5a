//go:build e2e

package cluster

import (
	"context"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
)

// racingClient is a clientset whose Node reads let another writer in: after
// each Get of a Node, before the caller sees the result, it calls afterGet.
// The caller's next write then meets the API server's answer to a real race,
// every time, instead of once in a while as with kwok. Update results are
// passed to updated.
type racingClient struct {
	kubernetes.Interface
	afterGet func(name string, err error)
	updated  func(err error)
}

func (c racingClient) CoreV1() typedcorev1.CoreV1Interface {
	return racingCoreV1{c.Interface.CoreV1(), c}
}

type racingCoreV1 struct {
	typedcorev1.CoreV1Interface
	c racingClient
}

func (r racingCoreV1) Nodes() typedcorev1.NodeInterface {
	return racingNodes{r.CoreV1Interface.Nodes(), r.c}
}

type racingNodes struct {
	typedcorev1.NodeInterface
	c racingClient
}

func (n racingNodes) Get(ctx context.Context, name string, opts metav1.GetOptions) (*corev1.Node, error) {
	node, err := n.NodeInterface.Get(ctx, name, opts)
	n.c.afterGet(name, err)
	return node, err
}

func (n racingNodes) Update(ctx context.Context, node *corev1.Node, opts metav1.UpdateOptions) (*corev1.Node, error) {
	got, err := n.NodeInterface.Update(ctx, node, opts)
	if n.c.updated != nil {
		n.c.updated(err)
	}
	return got, err
}

// otherWriter is a second client of the cluster, as kwok is.
func otherWriter(t *testing.T, rc *rest.Config) kubernetes.Interface {
	t.Helper()
	cfg := rest.CopyConfig(rc)
	cfg.UserAgent = "other-writer"
	cs, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	return cs
}

func mergePatch(t *testing.T, ctx context.Context, cs kubernetes.Interface, name, patch string) {
	t.Helper()
	_, err := cs.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	require.NoError(t, err, "patch node %s with %s", name, patch)
}

// testEnsureNodesConflict is the failure seen under load: kwok wrote the Node
// between EnsureNodes' read and its update, and the update was refused with
// "the object has been modified". Here another writer changes the node after
// each of EnsureNodes' first three reads of it.
func testEnsureNodesConflict(t *testing.T, ctx context.Context, cs kubernetes.Interface, rc *rest.Config) {
	name := NodeName(0)
	other := otherWriter(t, rc)
	// Take away a label and add a taint, so that EnsureNodes has to write.
	mergePatch(t, ctx, cs, name, `{"metadata":{"labels":{"type":null}},"spec":{"taints":[{"key":"glrf.test/taint","effect":"NoSchedule"}]}}`)

	reads, conflicts := 0, 0
	racing := racingClient{
		Interface: cs,
		afterGet: func(got string, err error) {
			require.Equal(t, name, got)
			require.NoError(t, err)
			reads++
			if reads <= 3 {
				mergePatch(t, ctx, other, name, `{"metadata":{"annotations":{"glrf.test/other-writer":"`+strconv.Itoa(reads)+`"}}}`)
			}
		},
		updated: func(err error) {
			if apierrors.IsConflict(err) {
				conflicts++
			}
		},
	}
	require.NoError(t, EnsureNodes(ctx, racing, 1), "EnsureNodes while another writer changes the node")
	assert.GreaterOrEqual(t, conflicts, 3, "the updates based on the first three reads were refused")
	assert.Equal(t, conflicts+1, reads, "each refused update was redone from a new read")

	node, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "kwok", node.Labels["type"], "label put back")
	assert.Empty(t, node.Spec.Taints, "taint cleared")
	assert.Equal(t, KwokNodeAnnotationValue, node.Annotations[KwokNodeAnnotation])
	assert.Equal(t, "3", node.Annotations["glrf.test/other-writer"], "the other writer's last change is kept")
	require.NoError(t, WaitNodesReady(ctx, cs, 1))
}

// testEnsureNodesCreateRace: the node does not exist when EnsureNodes reads
// it, and another writer creates it (bare) before EnsureNodes does.
func testEnsureNodesCreateRace(t *testing.T, ctx context.Context, cs kubernetes.Interface, rc *rest.Config) {
	name := NodeName(3)
	other := otherWriter(t, rc)
	t.Cleanup(func() {
		err := cs.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete node %s: %v", name, err)
			return
		}
		waitFor(t, ctx, "node "+name+" gone", func() bool {
			_, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		})
	})

	created := false
	racing := racingClient{
		Interface: cs,
		afterGet: func(got string, err error) {
			if got != name || created {
				return
			}
			require.True(t, apierrors.IsNotFound(err), "node %s does not exist yet: %v", name, err)
			_, err = other.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{
				Name:   name,
				Labels: map[string]string{"glrf.test/created-by": "other-writer"},
			}}, metav1.CreateOptions{})
			require.NoError(t, err)
			created = true
		},
	}
	require.NoError(t, EnsureNodes(ctx, racing, 4), "EnsureNodes while another writer creates a node")
	require.True(t, created, "the other writer got in first")

	node, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "other-writer", node.Labels["glrf.test/created-by"], "the other writer's node was kept")
	for k, v := range FakeNode(3).Labels {
		assert.Equal(t, v, node.Labels[k], "label %s", k)
	}
	// kwok v0.8.0 takes on a node only when it first sees it with the
	// annotation (a node created bare and annotated later stays NotReady
	// until kwok restarts), so the annotation is what can be checked here.
	assert.Equal(t, KwokNodeAnnotationValue, node.Annotations[KwokNodeAnnotation], "annotation put on")
}

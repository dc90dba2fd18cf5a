package cluster

import (
	"context"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// NodeName is the name of the i-th fake node.
func NodeName(i int) string { return fmt.Sprintf("kwok-node-%d", i) }

// FakeNode is the i-th kwok-managed node: no taints, so ordinary pods
// schedule onto it; kwok fills in its conditions, addresses and node info.
func FakeNode(i int) *corev1.Node {
	name := NodeName(i)
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("32"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Labels: map[string]string{
				"kubernetes.io/hostname": name,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
				"type":                   "kwok",
			},
			Annotations: map[string]string{
				KwokNodeAnnotation: KwokNodeAnnotationValue,
			},
		},
		Status: corev1.NodeStatus{
			Capacity:    capacity,
			Allocatable: capacity.DeepCopy(),
		},
	}
}

// EnsureNodes creates the fake nodes that do not exist yet and puts back
// the labels and annotations of those that do.
func EnsureNodes(ctx context.Context, cs kubernetes.Interface, count int) error {
	for i := range count {
		want := FakeNode(i)
		got, err := cs.CoreV1().Nodes().Get(ctx, want.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			if _, err := cs.CoreV1().Nodes().Create(ctx, want, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("create node %s: %w", want.Name, err)
			}
		case err != nil:
			return fmt.Errorf("get node %s: %w", want.Name, err)
		default:
			if got.Labels == nil {
				got.Labels = map[string]string{}
			}
			if got.Annotations == nil {
				got.Annotations = map[string]string{}
			}
			maps.Copy(got.Labels, want.Labels)
			maps.Copy(got.Annotations, want.Annotations)
			got.Spec.Taints = nil
			if _, err := cs.CoreV1().Nodes().Update(ctx, got, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("update node %s: %w", want.Name, err)
			}
		}
	}
	return nil
}

// NodeReady reports whether node has condition Ready=True.
func NodeReady(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// ReadyNodes counts the fake nodes 0..count-1 that are Ready.
func ReadyNodes(ctx context.Context, cs kubernetes.Interface, count int) (int, error) {
	ready := 0
	for i := range count {
		node, err := cs.CoreV1().Nodes().Get(ctx, NodeName(i), metav1.GetOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return 0, err
		}
		if NodeReady(node) {
			ready++
		}
	}
	return ready, nil
}

// WaitNodesReady polls until the fake nodes are all Ready.
func WaitNodesReady(ctx context.Context, cs kubernetes.Interface, count int) error {
	for {
		ready, err := ReadyNodes(ctx, cs, count)
		if err == nil && ready == count {
			return nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("%d/%d nodes Ready: %w", ready, count, err)
			}
			return fmt.Errorf("%d/%d nodes Ready", ready, count)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

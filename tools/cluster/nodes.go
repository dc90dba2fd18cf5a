package cluster

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
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
		// Job pods request it (the fleets' build limits, a LimitRange's
		// defaults): without it the scheduler finds no node for them.
		corev1.ResourceEphemeralStorage: resource.MustParse("1Ti"),
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
// the labels, annotations and (no) taints of those that do.
//
// Others write the same Nodes all the time: kwok updates their status, the
// node controller their taints. A write based on a read that has gone stale
// in between is refused with a conflict; each node's read, change and write
// is then done again from a new read, as often as nodeWriteBackoff allows.
func EnsureNodes(ctx context.Context, cs kubernetes.Interface, count int) error {
	for i := range count {
		if err := ensureNode(ctx, cs, FakeNode(i)); err != nil {
			return err
		}
	}
	return nil
}

// nodeWriteBackoff spaces the attempts of a node's read-modify-write: 12
// attempts over 3 to 7 seconds, more than enough to get between two writes of
// kwok's, which come seconds apart, even on a busy machine.
var nodeWriteBackoff = wait.Backoff{Steps: 12, Duration: 20 * time.Millisecond, Factor: 1.5, Jitter: 1}

// retriable reports whether a failed write is worth another read and write:
// it lost a race with another writer (a conflict, or a create of a node that
// someone else created first), or the API server was too busy to answer.
func retriable(err error) bool {
	return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) ||
		apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) ||
		apierrors.IsTooManyRequests(err) || apierrors.IsServiceUnavailable(err)
}

func ensureNode(ctx context.Context, cs kubernetes.Interface, want *corev1.Node) error {
	nodes := cs.CoreV1().Nodes()
	attempts := 0
	err := retry.OnError(nodeWriteBackoff, func(err error) bool {
		return ctx.Err() == nil && retriable(err)
	}, func() error {
		attempts++
		got, err := nodes.Get(ctx, want.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			if _, err := nodes.Create(ctx, want, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("create node %s: %w", want.Name, err)
			}
			return nil
		case err != nil:
			return fmt.Errorf("get node %s: %w", want.Name, err)
		}
		if putBack(got, want) {
			if got, err = nodes.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("update node %s: %w", want.Name, err)
			}
		}
		if putBackCapacity(got, want) {
			if _, err := nodes.UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("update the capacity of node %s: %w", want.Name, err)
			}
		}
		return nil
	})
	if err != nil && attempts > 1 {
		return fmt.Errorf("%w (gave up after %d attempts)", err, attempts)
	}
	return err
}

// putBack gives node want's labels and annotations (keeping any others) and
// no taints, and reports whether that changed anything.
func putBack(node, want *corev1.Node) bool {
	changed := len(node.Spec.Taints) > 0
	node.Spec.Taints = nil
	set := func(m *map[string]string, from map[string]string) {
		for k, v := range from {
			if old, ok := (*m)[k]; ok && old == v {
				continue
			}
			if *m == nil {
				*m = map[string]string{}
			}
			(*m)[k] = v
			changed = true
		}
	}
	set(&node.Labels, want.Labels)
	set(&node.Annotations, want.Annotations)
	return changed
}

// putBackCapacity gives node want's capacity and allocatable resources
// (a node made by an earlier version may lack some), and reports whether
// that changed anything.
func putBackCapacity(node, want *corev1.Node) bool {
	changed := false
	for name, q := range want.Status.Capacity {
		for _, list := range []*corev1.ResourceList{&node.Status.Capacity, &node.Status.Allocatable} {
			if old, ok := (*list)[name]; ok && old.Cmp(q) == 0 {
				continue
			}
			if *list == nil {
				*list = corev1.ResourceList{}
			}
			(*list)[name] = q
			changed = true
		}
	}
	return changed
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

// NodeLeaseNamespace holds the nodes' heartbeat Leases.
const NodeLeaseNamespace = "kube-node-lease"

// ManagedNodes counts the fake nodes 0..count-1 whose Lease was renewed
// after since.
func ManagedNodes(ctx context.Context, cs kubernetes.Interface, count int, since time.Time) (int, error) {
	managed := 0
	for i := range count {
		lease, err := cs.CoordinationV1().Leases(NodeLeaseNamespace).Get(ctx, NodeName(i), metav1.GetOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return 0, err
		}
		if r := lease.Spec.RenewTime; r != nil && r.After(since) {
			managed++
		}
	}
	return managed, nil
}

// WaitNodesManaged polls until kwok, started at since, holds the Lease of
// every fake node. kwok plays pods only on the nodes whose Lease it holds,
// and a kwok that restarts (a new identity) must wait for its previous run's
// Leases to expire, up to --node-lease-duration-seconds, while the nodes
// still show Ready: pods bound to them would wait too. kwok renews only the
// Leases it holds, so a Lease renewed after since is held.
func WaitNodesManaged(ctx context.Context, cs kubernetes.Interface, count int, since time.Time) error {
	for {
		managed, err := ManagedNodes(ctx, cs, count, since)
		if err == nil && managed == count {
			return nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("%d/%d node Leases held by kwok: %w", managed, count, err)
			}
			return fmt.Errorf("%d/%d node Leases held by kwok", managed, count)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

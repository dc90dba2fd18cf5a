package program

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Rollout is a fleet's rollout as the cluster shows it.
//
// The Kubernetes provider does not wait for the StatefulSet's rollout (see
// fleet.WaitForAnnotation): a manager that drains running jobs may take its
// whole grace period, one pod after another, and a change made while jobs run
// must not fail `up`. Instead, after every `up` the program reads the rollout from
// the cluster, logs it and exports it (fleets.<name>.rollout): which managers
// are still draining jobs and until when at the latest. With
// manager.rolloutTimeout it first waits, up to that bound, for the rollout to
// end. Reading or waiting never fails `up`.
type Rollout struct {
	Replicas, Ready, Updated int
	// Complete: every manager runs the current pod template and is ready.
	Complete bool
	// Draining are managers that are stopping, finishing their jobs.
	Draining []DrainingManager
	// Pending are managers on the old template, not yet asked to stop.
	Pending []string
}

// DrainingManager is a manager pod finishing its jobs before it stops.
type DrainingManager struct {
	Pod string
	// Deadline is the end of its grace period: it is gone by then at the latest.
	Deadline time.Time
}

func (r Rollout) String() string {
	if r.Complete {
		return fmt.Sprintf("complete: %d of %d managers ready", r.Ready, r.Replicas)
	}
	parts := []string{fmt.Sprintf("in progress: %d of %d managers updated, %d ready", r.Updated, r.Replicas, r.Ready)}
	for _, d := range r.Draining {
		parts = append(parts, fmt.Sprintf("%s draining its jobs (gone by %s at the latest)", d.Pod, d.Deadline.UTC().Format(time.RFC3339)))
	}
	if len(r.Pending) > 0 {
		parts = append(parts, "waiting to roll: "+strings.Join(r.Pending, ", "))
	}
	return strings.Join(parts, "; ")
}

// ReadRollout reads a fleet's StatefulSet and its pods.
func ReadRollout(ctx context.Context, client kubernetes.Interface, namespace, name string) (Rollout, error) {
	sts, err := client.AppsV1().StatefulSets(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return Rollout{}, err
	}
	selector, err := metav1.LabelSelectorAsSelector(sts.Spec.Selector)
	if err != nil {
		return Rollout{}, err
	}
	pods, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return Rollout{}, err
	}
	return rolloutOf(sts, pods.Items), nil
}

// rolloutOf follows kubectl's rollout status for StatefulSets, and names the
// managers in the way.
func rolloutOf(sts *appsv1.StatefulSet, pods []corev1.Pod) Rollout {
	r := Rollout{Ready: int(sts.Status.ReadyReplicas), Updated: int(sts.Status.UpdatedReplicas), Replicas: 1}
	if sts.Spec.Replicas != nil {
		r.Replicas = int(*sts.Spec.Replicas)
	}
	observed := sts.Status.ObservedGeneration >= sts.Generation
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	for _, p := range pods {
		switch {
		case p.DeletionTimestamp != nil:
			// The deletion timestamp is the end of the grace period.
			r.Draining = append(r.Draining, DrainingManager{Pod: p.Name, Deadline: p.DeletionTimestamp.Time})
		case observed && p.Labels[appsv1.ControllerRevisionHashLabelKey] != sts.Status.UpdateRevision:
			r.Pending = append(r.Pending, p.Name)
		}
	}
	r.Complete = observed && len(r.Draining) == 0 && len(r.Pending) == 0 &&
		r.Ready >= r.Replicas && r.Updated >= r.Replicas &&
		sts.Status.CurrentRevision == sts.Status.UpdateRevision && len(pods) == r.Replicas
	return r
}

// WaitRollout reads the rollout until it is complete or timeout has passed
// (0: read once), calling progress whenever it changes. Reaching the bound is
// not an error: it returns where the rollout stands.
func WaitRollout(ctx context.Context, client kubernetes.Interface, namespace, name string, timeout time.Duration, progress func(Rollout)) (Rollout, error) {
	const every = 2 * time.Second
	deadline := time.Now().Add(timeout)
	var lastText string
	for {
		r, err := ReadRollout(ctx, client, namespace, name)
		if err != nil {
			return r, err
		}
		if text := r.String(); text != lastText && progress != nil {
			progress(r)
			lastText = text
		}
		left := time.Until(deadline)
		if r.Complete || left <= 0 {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return r, nil
		case <-time.After(min(every, left)):
		}
	}
}

package podrunner

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// statusLoop writes the pod's status whenever it changed, until ctx ends.
func (w *podWorker) statusLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.dirty:
			w.writeStatus(ctx)
		}
	}
}

// writeStatus writes the status built from the runner's state over the
// pod's current one, retrying on conflicts with a fresh read.
func (w *podWorker) writeStatus(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	pod := w.currentPod()
	pods := w.r.cs.CoreV1().Pods(pod.Namespace)
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		cur, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.UID != pod.UID {
			return apierrors.NewNotFound(corev1.Resource("pods"), pod.Name)
		}
		status := w.buildStatus(cur)
		if apiequality.Semantic.DeepEqual(status, cur.Status) {
			return nil
		}
		cur.Status = status
		_, err = pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
		w.log.Warn("write the pod's status", "err", err)
		// Try again with the next change, or soon.
		time.AfterFunc(time.Second, w.markDirty)
	}
}

// buildStatus is the status of cur as the kubelet would report it.
func (w *podWorker) buildStatus(cur *corev1.Pod) corev1.PodStatus {
	w.mu.Lock()
	sandboxReady := w.sandboxReady
	podIP, startTime := w.podIP, w.startTime
	w.mu.Unlock()

	status := *cur.Status.DeepCopy()
	status.HostIP = w.r.cfg.NodeIP
	status.HostIPs = []corev1.HostIP{{IP: w.r.cfg.NodeIP}}
	status.PodIP = podIP.String()
	status.PodIPs = []corev1.PodIP{{IP: podIP.String()}}
	status.StartTime = &startTime
	status.ContainerStatuses = nil
	allReady, anyRunning, allTerminated, anyRun := true, false, true, false
	succeeded := true
	for _, c := range w.containers {
		cs := c.snapshot()
		status.ContainerStatuses = append(status.ContainerStatuses, cs)
		allReady = allReady && cs.Ready
		if cs.State.Running != nil {
			anyRunning = true
		}
		if cs.State.Terminated == nil {
			allTerminated = false
		} else if cs.State.Terminated.ExitCode != 0 {
			succeeded = false
		}
		if cs.State.Running != nil || cs.State.Terminated != nil || cs.RestartCount > 0 {
			anyRun = true
		}
	}
	switch {
	case anyRunning:
		status.Phase = corev1.PodRunning
	case allTerminated && len(w.containers) > 0 && cur.DeletionTimestamp != nil:
		// Stopped for its deletion: terminal, as the kubelet reports it.
		status.Phase = corev1.PodFailed
		if succeeded {
			status.Phase = corev1.PodSucceeded
		}
	case allTerminated && len(w.containers) > 0 && cur.Spec.RestartPolicy == corev1.RestartPolicyNever:
		status.Phase = corev1.PodFailed
		if succeeded {
			status.Phase = corev1.PodSucceeded
		}
	case allTerminated && len(w.containers) > 0 && cur.Spec.RestartPolicy == corev1.RestartPolicyOnFailure && succeeded:
		status.Phase = corev1.PodSucceeded
	case anyRun:
		status.Phase = corev1.PodRunning
	default:
		status.Phase = corev1.PodPending
	}
	gatesReady := true
	for _, g := range cur.Spec.ReadinessGates {
		gatesReady = gatesReady && conditionTrue(cur.Status.Conditions, g.ConditionType)
	}
	setCondition(&status, corev1.PodReadyToStartContainers, sandboxReady, "")
	setCondition(&status, corev1.PodInitialized, true, "")
	reason := ""
	if !allReady {
		reason = "ContainersNotReady"
	}
	setCondition(&status, corev1.ContainersReady, allReady, reason)
	if allReady && !gatesReady {
		reason = "ReadinessGatesNotReady"
	}
	setCondition(&status, corev1.PodReady, allReady && gatesReady, reason)
	return status
}

func conditionTrue(conds []corev1.PodCondition, t corev1.PodConditionType) bool {
	for _, c := range conds {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// setCondition sets a condition, its transition time changing only with
// its status.
func setCondition(status *corev1.PodStatus, t corev1.PodConditionType, ok bool, reason string) {
	want := corev1.ConditionFalse
	if ok {
		want = corev1.ConditionTrue
	}
	for i := range status.Conditions {
		c := &status.Conditions[i]
		if c.Type != t {
			continue
		}
		if c.Status != want {
			c.Status, c.LastTransitionTime = want, metav1.Now()
		}
		c.Reason = reason
		return
	}
	status.Conditions = append(status.Conditions, corev1.PodCondition{Type: t, Status: want, Reason: reason, LastTransitionTime: metav1.Now()})
}

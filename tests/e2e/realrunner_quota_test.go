//go:build e2e

package e2e

// A full job namespace quota makes a job wait, not fail (docs/security.md,
// "Quota"). The quota counts a deleted job pod until it is gone, and a
// manager takes its next job as soon as it has deleted the last one's pod:
// on a fleet whose every slot is busy, the next pod is refused while the
// last one terminates. The runner retries only the errors retry_limits
// names, so the fleet names the quota's refusal there.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// quotaHolder is a pod of the test's that takes the job namespace's one pod
// slot (restricted-level, so any level admits it; the LimitRange gives it
// requests and limits).
func quotaHolder(namespace string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "quota-holder", Namespace: namespace},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](1000),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{Name: "hold", Image: "registry.k8s.io/pause:3.10",
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false),
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}},
		},
	}
}

// managerPodCreates are the job namespace's pod creates by the manager's
// ServiceAccount, in the order the API server answered them.
func managerPodCreates(t *testing.T, jobs, manager string) []auditEvent {
	var out []auditEvent
	for _, e := range auditEvents(t, jobs) {
		if e.Verb == "create" && e.ObjectRef.Resource == "pods" && e.ObjectRef.Subresource == "" && e.User.Username == manager {
			out = append(out, e)
		}
	}
	return out
}

// A fleet of one manager with one slot: its quota allows one job pod. With
// that slot taken by another pod, a queued job's pod is refused (exceeded
// quota); the job keeps running, without a pod, and once the slot is free
// its pod is created and the job succeeds.
func TestRealRunnerJobWaitsForAFullQuota(t *testing.T) {
	t.Parallel()
	const name, tag, project = "rr-quota", "rr-quota-job", 104
	managers, jobs := "gitlab-runner-"+name, "gitlab-runner-"+name+"-jobs"
	manager := "system:serviceaccount:" + managers + ":" + name
	s := newStack(t, name, fleet{
		"name":    name,
		"runner":  map[string]any{"type": "group_type", "groupId": 1, "tags": []string{tag}},
		"manager": map[string]any{"replicas": 1, "concurrent": 1},
	})
	s.up(t)
	waitReady(t, managers, name)
	ctx := context.Background()
	quotas, err := kube(t).CoreV1().ResourceQuotas(jobs).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	var podSlots []string
	for _, q := range quotas.Items {
		if n, ok := q.Spec.Hard[corev1.ResourcePods]; ok && !n.IsZero() {
			podSlots = append(podSlots, q.Name+": "+n.String())
		}
	}
	require.Equal(t, []string{"gitlab-runner-jobs: 1"}, podSlots, "one quota with room for one job pod (1 replica × 1 slot)")

	_, err = kube(t).CoreV1().Pods(jobs).Create(ctx, quotaHolder(jobs), metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = kube(t).CoreV1().Pods(jobs).Delete(context.Background(), "quota-holder", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
	})

	queued := queueJob(t, project, "waits", ciJob{Tags: []string{tag}, Script: []string{"echo ran after the quota had room"}})
	var refused []auditEvent
	for deadline := time.Now().Add(jobTimeout); ; time.Sleep(time.Second) {
		for _, e := range managerPodCreates(t, jobs, manager) {
			require.Equal(t, 403, e.ResponseStatus.Code, "no job pod is admitted while the holder takes the slot: %s", e.ResponseStatus.Message)
			refused = append(refused, e)
		}
		if len(refused) > 0 {
			break
		}
		job := getJob(t, project, queued.ID)
		require.False(t, job.done(), "job %d ended (%s) before its pod was tried; its log:\n%s", job.ID, job.Status, jobTrace(t, project, job.ID))
		require.True(t, time.Now().Before(deadline), "the manager tried no job pod within %s; job %d is %s", jobTimeout, job.ID, job.Status)
	}
	assert.Contains(t, refused[0].ResponseStatus.Message, "exceeded quota", "refused by the quota")
	// The manager retries: a few seconds after the refusal, the job still
	// runs (the runner without the retry entry fails it at once).
	time.Sleep(5 * time.Second)
	job := getJob(t, project, queued.ID)
	require.Equal(t, "running", job.Status, "the job waits for room; its log:\n%s", jobTrace(t, project, job.ID))

	require.NoError(t, kube(t).CoreV1().Pods(jobs).Delete(ctx, "quota-holder", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}))
	job = requireJobSucceeded(t, project, queued.ID)
	assert.Contains(t, jobTrace(t, project, job.ID), "ran after the quota had room")

	creates := managerPodCreates(t, jobs, manager)
	var codes []string
	for _, e := range creates {
		codes = append(codes, fmt.Sprint(e.ResponseStatus.Code))
	}
	t.Logf("the manager's pod creates, in order: %s", strings.Join(codes, " "))
	require.NotEmpty(t, creates)
	assert.Equal(t, 201, creates[len(creates)-1].ResponseStatus.Code, "the last create made the job's pod")
	for _, e := range creates[:len(creates)-1] {
		assert.Equal(t, 403, e.ResponseStatus.Code)
		assert.Contains(t, e.ResponseStatus.Message, "exceeded quota")
	}
	assert.GreaterOrEqual(t, len(creates), 3, "refused at least twice before the pod was made")
}

//go:build e2e

package e2e

// A runner deleted by hand in GitLab leaves its managers unable to fetch
// jobs: the fleet must show it (issue 15 point 5: the pods' readiness, which
// is the signal a StatefulSet's status, `kubectl rollout status` and most
// alerting already read).

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// readyPods lists the fleet's manager pods by their Ready condition.
func readyPods(t *testing.T, namespace, fleetName string) (ready, notReady []string) {
	t.Helper()
	pods, err := kube(t).CoreV1().Pods(namespace).List(context.Background(), metav1.ListOptions{LabelSelector: managerSelector(fleetName)})
	require.NoError(t, err)
	for _, p := range pods.Items {
		isReady := false
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				isReady = c.Status == corev1.ConditionTrue
			}
		}
		if isReady {
			ready = append(ready, p.Name)
		} else {
			notReady = append(notReady, p.Name)
		}
	}
	return ready, notReady
}

// readinessShowsWithin is how soon a manager that can no longer fetch jobs
// must be not Ready: the "within a minute".
const readinessShowsWithin = time.Minute

// The fleet's runner deleted by hand in GitLab: within a minute no manager
// pod is Ready. Then refresh and up make a new runner, and the managers,
// on its token, are Ready again.
func TestRealRunnerDeletedRunnerShowsInReadiness(t *testing.T) {
	t.Parallel()
	const name = "rr-deleted"
	managers := "gitlab-runner-" + name
	s := newStack(t, name, fleet{
		"name":    name,
		"runner":  map[string]any{"type": "group_type", "groupId": 1, "tags": []string{"rr-deleted-job"}},
		"manager": map[string]any{"replicas": 2, "antiAffinity": "required", "rolloutTimeout": 120},
	})
	s.up(t)
	waitReady(t, managers, name)
	ready, notReady := readyPods(t, managers, name)
	require.Len(t, ready, 2, "both managers Ready before (not Ready: %v)", notReady)

	status, body := h.gitlab(t, http.MethodDelete, "runners/"+s.runnerID(t, name), nil)
	require.Equal(t, http.StatusNoContent, status, string(body))
	deleted := time.Now()
	// The stack's runner is gone: a refresh drops it, or the destroy at the
	// end fails on it (cleanups run last first).
	t.Cleanup(func() { _, _ = s.stack.Refresh(context.Background()) })
	for {
		if ready, _ = readyPods(t, managers, name); len(ready) == 0 {
			break
		}
		require.True(t, time.Since(deleted) < readinessShowsWithin,
			"%s still Ready %s after their runner was deleted in GitLab: readiness does not show that the managers can no longer fetch jobs (issue 15 point 5)",
			strings.Join(ready, ", "), readinessShowsWithin)
		time.Sleep(time.Second)
	}

	s.refresh(t)
	s.up(t)
	waitReady(t, managers, name)
	ready, notReady = readyPods(t, managers, name)
	require.Len(t, ready, 2, "both managers Ready on the new runner's token (not Ready: %v)", notReady)
}

//go:build e2e

package e2e

// A runner deleted by hand in GitLab leaves its managers unable to fetch
// jobs: the fleet must show it (issue 14 point 5). The signal is the one
// docs/operations.md names ("Readiness and alerting: a dead token"): the
// managers' Ready condition, which a StatefulSet's status, `kubectl rollout
// status` and kube_pod_status_ready read. The fleet's token-check capability
// (components/fleet/tokencheck.go) gives it: the entrypoint's watch asks
// GitLab about the token with the runner's own `gitlab-runner verify` and,
// after TOKEN_CHECK_FAILURES refusals in a row, stops the runner.

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// What the managers log when their token watch stops them, on each refusal
// before, and when the runner starts (components/entrypoint/entrypoint.sh).
const (
	tokenWatchStops   = "the runner was deleted in GitLab or its token expired"
	tokenWatchRefuses = "GitLab refuses the runner token"
	runnerStarts      = "token verified; starting the runner"
)

// managerPods lists the fleet's manager pods.
func managerPods(t *testing.T, namespace, fleetName string) []corev1.Pod {
	t.Helper()
	pods, err := kube(t).CoreV1().Pods(namespace).List(context.Background(), metav1.ListOptions{LabelSelector: managerSelector(fleetName)})
	require.NoError(t, err)
	return pods.Items
}

// podReady is the pod's Ready condition.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// readyPods lists the fleet's manager pods by their Ready condition.
func readyPods(t *testing.T, namespace, fleetName string) (ready, notReady []string) {
	t.Helper()
	for _, p := range managerPods(t, namespace, fleetName) {
		if podReady(&p) {
			ready = append(ready, p.Name)
		} else {
			notReady = append(notReady, p.Name)
		}
	}
	return ready, notReady
}

// managerLogs is what the manager container of a pod logged, its previous
// run (if it restarted) and its current one, read while it did not restart:
// a restart between the two reads shifts what "previous" names. A failure
// on a busy machine fits that: "previous" found no earlier run and
// "current" an empty log, as if the container restarted between the reads.
func managerLogs(t *testing.T, p *corev1.Pod) string {
	t.Helper()
	container := p.Spec.Containers[0].Name
	restarts := func() string {
		return h.mustKubectl(t, "get", "pod", "-n", p.Namespace, p.Name, "-o", "jsonpath={.status.containerStatuses[0].restartCount}")
	}
	for attempt := 0; attempt < 5; attempt++ {
		before := restarts()
		previous, _ := h.kubectl(t, "logs", "-n", p.Namespace, p.Name, "-c", container, "--previous")
		current, _ := h.kubectl(t, "logs", "-n", p.Namespace, p.Name, "-c", container)
		if restarts() == before {
			return previous + "\n" + current
		}
	}
	require.FailNow(t, p.Name+" restarted during each of 5 reads of its logs")
	return ""
}

// tokenWatch is the token check's period and the refusals in a row that
// stop a runner, as the pod runs it (its environment).
func tokenWatch(t *testing.T, p *corev1.Pod) (period time.Duration, failures int) {
	t.Helper()
	env := map[string]string{}
	for _, e := range p.Spec.Containers[0].Env {
		env[e.Name] = e.Value
	}
	seconds, err := strconv.Atoi(env["TOKEN_CHECK_SECONDS"])
	require.NoError(t, err, "%s: TOKEN_CHECK_SECONDS (the token-check capability) in the manager's environment", p.Name)
	failures, err = strconv.Atoi(env["TOKEN_CHECK_FAILURES"])
	require.NoError(t, err, "%s: TOKEN_CHECK_FAILURES in the manager's environment", p.Name)
	return time.Duration(seconds) * time.Second, failures
}

// readinessShowsWithin is how soon a manager that can no longer fetch jobs
// must be not Ready: the "within a minute".
const readinessShowsWithin = time.Minute

// The control first: with the fleet's runner in GitLab, both managers stay
// Ready and unrestarted through more token checks than it takes the watch
// to stop a runner. Then the runner deleted by hand in GitLab, no job
// running: within a minute no manager pod is Ready, because the watch
// stopped the runner (the managers log why). Then refresh and up make a new
// runner, and the managers, on its token, are Ready again.
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

	// The control: let every manager's watch check the live token more
	// times than the refusals that would stop it.
	pods := managerPods(t, managers, name)
	require.Len(t, pods, 2)
	for _, p := range pods {
		period, failures := tokenWatch(t, &p)
		cs := p.Status.ContainerStatuses[0]
		require.NotNil(t, cs.State.Running, "%s: the manager runs", p.Name)
		checked := cs.State.Running.StartedAt.Add(period * time.Duration(failures+1))
		time.Sleep(time.Until(checked))
	}
	for _, p := range managerPods(t, managers, name) {
		require.True(t, podReady(&p), "%s: Ready while its runner exists in GitLab", p.Name)
		require.Zero(t, p.Status.ContainerStatuses[0].RestartCount, "%s: never restarted while its runner exists in GitLab", p.Name)
		logs := managerLogs(t, &p)
		require.Contains(t, logs, runnerStarts, "%s: its logs are read", p.Name)
		require.NotContains(t, logs, tokenWatchRefuses, "%s: the token watch passes while the runner exists", p.Name)
	}

	status, body := h.gitlab(t, http.MethodDelete, "runners/"+s.runnerID(t, name), nil)
	require.Equal(t, http.StatusNoContent, status, string(body))
	deleted := time.Now()
	// The stack's runner is gone: a refresh drops it, or the destroy at the
	// end fails on it (cleanups run last first).
	t.Cleanup(func() { _, _ = s.stack.Refresh(context.Background()) })
	for {
		ready, _ := readyPods(t, managers, name)
		if len(ready) == 0 {
			break
		}
		require.True(t, time.Since(deleted) < readinessShowsWithin,
			"%s still Ready %s after their runner was deleted in GitLab: readiness does not show that the managers can no longer fetch jobs (issue 14 point 5)",
			strings.Join(ready, ", "), readinessShowsWithin)
		time.Sleep(time.Second)
	}
	t.Logf("no manager Ready %s after the runner's deletion", time.Since(deleted).Round(time.Second))
	// Not Ready because the token watch stopped the runner, not for some
	// other reason (a probe timing out on a busy machine, say).
	for _, p := range managerPods(t, managers, name) {
		require.Contains(t, managerLogs(t, &p), tokenWatchStops, "%s: the token watch stopped the runner\n%s", p.Name, podsReport(t, managers))
	}

	s.refresh(t)
	s.up(t)
	waitReady(t, managers, name)
	ready, notReady := readyPods(t, managers, name)
	require.Len(t, ready, 2, "both managers Ready on the new runner's token (not Ready: %v)", notReady)
}

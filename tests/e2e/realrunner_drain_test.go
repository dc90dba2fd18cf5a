//go:build e2e

package e2e

// Changes, deletions and destroys while a manager runs a job, with the real
// runner: the manager told to stop (SIGQUIT by the preStop hook) finishes
// the job, then exits, and only then is its pod removed (the pod runner,
// as a kubelet). Each job waits at a gate the test opens, so that it is
// still running whatever the machine's speed: nothing here depends on how
// long anything takes.

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/glrf/gitlab-runner-fleet/program"
)

func managerSelector(fleetName string) string {
	return "app.kubernetes.io/name=gitlab-runner,app.kubernetes.io/instance=" + fleetName
}

// fleetOutput is one of a fleet's stack outputs.
func fleetOutput(t testing.TB, s *testStack, fleetName, key string) string {
	t.Helper()
	fleets, _ := s.outputs(t)["fleets"].Value.(map[string]any)
	f, _ := fleets[fleetName].(map[string]any)
	return fmt.Sprint(f[key])
}

// gatedJob is a job whose script waits until the test opens its gate: a
// protected branch named gate-<name> in its project, which the script polls
// through GitLab's API (the jobs reach the local GitLab; the token is the
// stand-in's admin token, a test value).
func gatedJob(tag, name string) ciJob {
	return ciJob{
		Tags:      []string{tag},
		Variables: map[string]string{"GATE_TOKEN": h.token},
		Script: []string{
			"echo waiting at gate " + name,
			`until curl -sf -o /dev/null -H "PRIVATE-TOKEN: $GATE_TOKEN" "$CI_API_V4_URL/projects/$CI_PROJECT_ID/protected_branches/gate-` + name + `"; do sleep 1; done`,
			"echo passed gate " + name,
		},
	}
}

// openGate lets a gated job finish.
func openGate(t testing.TB, project int, name string) {
	t.Helper()
	status, body := h.gitlab(t, http.MethodPost, fmt.Sprintf("projects/%d/protected_branches", project), map[string]any{"name": "gate-" + name})
	require.Equal(t, http.StatusCreated, status, string(body))
}

// startGatedJob queues a gated job and waits until its script runs (its
// log says it waits at the gate); it returns the job and the manager pod
// that runs it.
func startGatedJob(t *testing.T, project int, tag, gate, managers, fleetName string, replicas int) (gitlabJob, managerPod) {
	t.Helper()
	queued := queueJob(t, project, gate, gatedJob(tag, gate))
	for deadline := time.Now().Add(jobTimeout); !strings.Contains(jobTrace(t, project, queued.ID), "waiting at gate "+gate); time.Sleep(time.Second) {
		job := getJob(t, project, queued.ID)
		require.False(t, job.done(), "job %d ended (%s) before reaching its gate; its log:\n%s", job.ID, job.Status, jobTrace(t, project, job.ID))
		require.True(t, time.Now().Before(deadline), "job %d did not reach its gate within %s; its log:\n%s", job.ID, jobTimeout, jobTrace(t, project, job.ID))
	}
	job := getJob(t, project, queued.ID)
	require.Equal(t, "running", job.Status)
	require.NotNil(t, job.RunnerManager)
	for i := range replicas {
		pod := fmt.Sprintf("%s-%d", fleetName, i)
		if systemIDOf(managers, pod) == job.RunnerManager.SystemID {
			return job, runningPod(t, managers, pod)
		}
	}
	t.Fatalf("job %d runs on manager %s, none of %s's pods", job.ID, job.RunnerManager.SystemID, fleetName)
	return job, managerPod{}
}

// managerPod is a manager pod that runs a job: its name and UID (a pod
// made again under the same name is another pod).
type managerPod struct {
	name string
	uid  string
}

// runningPod is the current pod of that name.
func runningPod(t *testing.T, namespace, name string) managerPod {
	t.Helper()
	pod, err := kube(t).CoreV1().Pods(namespace).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return managerPod{name: name, uid: string(pod.UID)}
}

// lifeOf is what the watcher saw of the pod.
func lifeOf(w *podWatcher, pod managerPod) (podLife, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	life, ok := w.pods[pod.uid]
	if !ok {
		return podLife{}, false
	}
	return *life, true
}

// waitDeletionRequested waits until the watcher saw the pod's deletion asked
// for. If ended (the destroy that is to ask for it; nil otherwise) ends
// first, the failure says so with its error; a timeout shows the pods, nodes
// and events.
func waitDeletionRequested(t *testing.T, w *podWatcher, namespace string, pod managerPod, ended <-chan error) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Minute); ; {
		if life, ok := lifeOf(w, pod); ok && !life.Requested.IsZero() {
			return
		}
		select {
		case err := <-ended:
			require.FailNow(t, fmt.Sprintf("the destroy ended (%v) before anybody asked %s to stop", err, pod.name))
		case <-time.After(500 * time.Millisecond):
		}
		require.True(t, time.Now().Before(deadline), "nobody asked %s to stop within 5 minutes\n%s", pod.name, podsReport(t, namespace))
	}
}

// assertStoppedAfterJob checks that the manager pod that ran the job was
// asked to stop while the job ran, and went away only after it had ended.
func assertStoppedAfterJob(t *testing.T, w *podWatcher, pod managerPod, job gitlabJob) {
	t.Helper()
	require.NotNil(t, job.FinishedAt)
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		if life, ok := lifeOf(w, pod); ok && !life.Gone.IsZero() {
			assert.True(t, life.Requested.Before(*job.FinishedAt), "%s was asked to stop (%s) while job %d ran (it ended %s)", pod.name, life.Requested, job.ID, job.FinishedAt)
			assert.True(t, life.Gone.After(*job.FinishedAt), "%s went away (%s) after job %d ended (%s)", pod.name, life.Gone, job.ID, job.FinishedAt)
			return
		}
		require.True(t, time.Now().Before(deadline), "%s still there 5 minutes after job %d ended", pod.name, job.ID)
	}
}

// A fleet whose managers run a job while the fleet changes, while one of
// them is deleted, and while the stack is destroyed: each time the job
// finishes successfully, its manager exits only after it, and `up` (or
// `destroy`) succeeds.
func TestRealRunnerDrain(t *testing.T) {
	t.Parallel()
	const name, tag, project = "rr-drain", "rr-drain-job", 102
	managers, jobs := "gitlab-runner-"+name, "gitlab-runner-"+name+"-jobs"
	drainFleet := func(concurrent int) fleet {
		return fleet{
			"name":   name,
			"runner": map[string]any{"type": "group_type", "groupId": 1, "tags": []string{tag}},
			"manager": map[string]any{
				"replicas": 2, "antiAffinity": "required", "concurrent": concurrent,
				"terminationGracePeriodSeconds": 600, "shutdownTimeout": 10, "rolloutTimeout": 20,
			},
		}
	}
	s := newStack(t, name, drainFleet(4))
	s.up(t)
	waitReady(t, managers, name)
	w := watchPods(t, managers, managerSelector(name))

	t.Run("up with a new concurrent", func(t *testing.T) {
		job, pod := startGatedJob(t, project, tag, "change", managers, name, 2)
		s.setFleets(t, drainFleet(8)) // a config change: the managers roll
		steps, _ := s.previewSteps(t)
		assert.Equal(t, map[string]string{
			"kubernetes:core/v1:ConfigMap " + name + "-config":   "replace", // config.toml: concurrent
			"kubernetes:apps/v1:StatefulSet " + name:             "update",  // its pod template names the new ConfigMap
			"kubernetes:core/v1:ResourceQuota " + name + "-jobs": "update",  // sized by replicas × concurrent
		}, steps, "the plan of a change to concurrent")
		mark := s.log.Len()
		up := s.up(t)
		assert.Equal(t, map[string]int{"update": 2, "replace": 1}, changes(*up.Summary.ResourceChanges), "`up` does what the preview planned")
		// `up` waited its rolloutTimeout (20 s) while the job held its
		// manager: it did not wait for the drain, and says so in its log
		// (the rollout is no output: it goes on after `up`).
		assert.Contains(t, s.log.String()[mark:], "fleet "+name+": rollout in progress", "the rollout is not over while the job runs")
		assert.Equal(t, "<nil>", fleetOutput(t, s, name, "rollout"), "no rollout output")

		waitDeletionRequested(t, w, managers, pod, nil)
		assert.Equal(t, "running", getJob(t, project, job.ID).Status, "the job still runs on its stopping manager")
		mark = s.log.Len()
		again := s.up(t)
		assert.Empty(t, changes(*again.Summary.ResourceChanges), "the next `up` is a no-op while the job runs")
		assert.Contains(t, s.log.String()[mark:], "draining its jobs", "the log names what still drains")
		openGate(t, project, "change")
		done := requireJobSucceeded(t, project, job.ID)
		assert.Contains(t, jobTrace(t, project, job.ID), "passed gate change")
		assertStoppedAfterJob(t, w, pod, done)

		r, err := program.WaitRollout(context.Background(), kube(t), managers, name, 10*time.Minute, nil)
		require.NoError(t, err)
		require.True(t, r.Complete, "rollout after 10 minutes: %s", r)
		mark = s.log.Len()
		final := s.up(t)
		assert.Empty(t, changes(*final.Summary.ResourceChanges))
		assert.Contains(t, s.log.String()[mark:], "fleet "+name+": rollout complete: 2 of 2 managers ready")
	})

	t.Run("a manager pod deleted", func(t *testing.T) {
		job, pod := startGatedJob(t, project, tag, "delete", managers, name, 2)
		h.mustKubectl(t, "delete", "pod", pod.name, "-n", managers, "--wait=false")
		waitDeletionRequested(t, w, managers, pod, nil)
		assert.Equal(t, "running", getJob(t, project, job.ID).Status, "the job still runs on its stopping manager")
		openGate(t, project, "delete")
		done := requireJobSucceeded(t, project, job.ID)
		assertStoppedAfterJob(t, w, pod, done)
		waitReady(t, managers, name)
		up := s.up(t)
		assert.Empty(t, changes(*up.Summary.ResourceChanges), "nothing to change: the StatefulSet made the pod again")
	})

	t.Run("destroy", func(t *testing.T) {
		runnerID := s.runnerID(t, name)
		secretName, _ := tokenSecret(t, name)
		job, pod := startGatedJob(t, project, tag, "destroy", managers, name, 2)

		// While a manager exists, everything its drain needs must exist too:
		// its ServiceAccount (its API token), the Role and RoleBinding in the
		// job namespace, the job namespace itself, its token Secret and its
		// runner.
		client := kube(t)
		var mu sync.Mutex
		var missing []string
		check := func(present []corev1.Pod) {
			if len(present) == 0 {
				return
			}
			ctx := context.Background()
			gone := func(what string, err error) {
				if apierrors.IsNotFound(err) {
					mu.Lock()
					missing = append(missing, what)
					mu.Unlock()
				}
			}
			_, err := client.CoreV1().ServiceAccounts(managers).Get(ctx, name, metav1.GetOptions{})
			gone("ServiceAccount", err)
			_, err = client.RbacV1().Roles(jobs).Get(ctx, name+"-executor", metav1.GetOptions{})
			gone("Role", err)
			_, err = client.RbacV1().RoleBindings(jobs).Get(ctx, name+"-executor", metav1.GetOptions{})
			gone("RoleBinding", err)
			_, err = client.CoreV1().Secrets(managers).Get(ctx, secretName, metav1.GetOptions{})
			gone("token Secret", err)
			if namespace, err := client.CoreV1().Namespaces().Get(ctx, jobs, metav1.GetOptions{}); err == nil && namespace.DeletionTimestamp != nil {
				gone("job namespace (terminating)", apierrors.NewNotFound(corev1.Resource("namespaces"), jobs))
			}
			if status, _ := h.gitlab(t, http.MethodGet, "runners/"+runnerID, nil); status == http.StatusNotFound {
				gone("runner in GitLab", apierrors.NewNotFound(corev1.Resource("runners"), runnerID))
			}
		}
		destroyWatch := watchPods(t, managers, managerSelector(name), check)

		destroyed := make(chan error, 1)
		go func() {
			_, err := s.stack.Destroy(context.Background(), optdestroy.ProgressStreams(&s.log))
			destroyed <- err
		}()
		waitDeletionRequested(t, w, managers, pod, destroyed)
		select {
		case err := <-destroyed:
			t.Fatalf("destroy ended (%v) while a manager still ran a job", err)
		default:
		}
		assert.Equal(t, "running", getJob(t, project, job.ID).Status, "the job still runs on its stopping manager")
		openGate(t, project, "destroy")
		done := requireJobSucceeded(t, project, job.ID)
		require.NoError(t, <-destroyed, "destroy while a manager drains; engine output:\n%s", tail(s.log.String(), 60))
		assertStoppedAfterJob(t, w, pod, done)
		destroyWatch.Stop()
		mu.Lock()
		assert.Empty(t, missing, "nothing a draining manager needs goes before it")
		mu.Unlock()

		status, _ := h.gitlab(t, http.MethodGet, "runners/"+runnerID, nil)
		assert.Equal(t, http.StatusNotFound, status, "the runner is deleted, last")
		for _, n := range []string{managers, jobs} {
			out, _ := h.kubectl(t, "get", "namespace", n, "-o", "name")
			assert.True(t, strings.Contains(out, "NotFound") || !strings.Contains(out, n), "namespace %s is gone: %s", n, out)
		}
		again, err := s.stack.Destroy(context.Background(), optdestroy.ProgressStreams(&s.log))
		require.NoError(t, err)
		assert.Empty(t, changes(*again.Summary.ResourceChanges), "a second destroy has nothing left to do")
	})
}

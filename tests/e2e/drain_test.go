//go:build e2e

package e2e

// A change, or a destroy, while the managers drain running jobs. Local nodes
// run no containers, so a kwok Stage (tools/cluster/stages) stands for the
// drain: a manager pod annotated with a delay goes away that long after its
// deletion, or later, up to the end of its grace period, as a runner that
// finishes its jobs after SIGQUIT would. The provider's wait is shorter than
// the drain: `manager.rolloutTimeout` is 20 s, the drain at least 60 s.

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

const (
	drainDelay = 60 * time.Second
	drainGrace = 120
)

// drainFleet is a fleet whose managers take 60-120 s to stop.
func drainFleet(name string, groupID, concurrent int) fleet {
	return fleet{
		"name":   name,
		"runner": map[string]any{"type": "group_type", "groupId": groupID, "tags": []string{"e2e"}},
		"manager": map[string]any{
			"replicas": 2, "antiAffinity": "required", "concurrent": concurrent,
			"terminationGracePeriodSeconds": drainGrace, "shutdownTimeout": 10, "rolloutTimeout": 20,
			"podAnnotations": map[string]string{"pod-delete.stage.kwok.x-k8s.io/delay": drainDelay.String()},
		},
	}
}

func managerSelector(fleetName string) string {
	return "app.kubernetes.io/name=gitlab-runner,app.kubernetes.io/instance=" + fleetName
}

// assertDrained checks that every manager that was stopped went away only
// after its drain, and that none vanished unseen.
func assertDrained(t *testing.T, w *podWatcher, wantStopped int) {
	t.Helper()
	deleted := w.Deleted()
	assert.Len(t, deleted, wantStopped, "managers stopped")
	for _, p := range deleted {
		lived := p.Gone.Sub(p.Requested)
		assert.GreaterOrEqual(t, lived, drainDelay-time.Second, "%s went %s after its deletion, before its drain ended", p.Name, lived)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, life := range w.pods {
		assert.False(t, !life.Gone.IsZero() && life.Requested.IsZero(), "%s vanished without a drain", life.Name)
	}
}

func TestDrainChangeWhileManagersDrainDoesNotFailUp(t *testing.T) {
	t.Parallel()
	const name = "drain-change"
	ns := "gitlab-runner-" + name
	s := newStack(t, name, drainFleet(name, 31, 4))
	s.up(t)
	waitReady(t, ns, name)
	before := map[string]bool{}
	pods, err := kube(t).CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: managerSelector(name)})
	require.NoError(t, err)
	for _, p := range pods.Items {
		before[p.Name] = true
	}
	require.Equal(t, map[string]bool{name + "-0": true, name + "-1": true}, before)

	w := watchPods(t, ns, managerSelector(name))
	s.setFleets(t, drainFleet(name, 31, 8)) // a config change: the managers roll
	steps, _ := s.previewSteps(t)
	assert.Equal(t, map[string]string{
		"kubernetes:core/v1:ConfigMap " + name + "-config":   "replace", // config.toml: concurrent
		"kubernetes:apps/v1:StatefulSet " + name:             "update",  // its pod template names the new ConfigMap
		"kubernetes:core/v1:ResourceQuota " + name + "-jobs": "update",  // sized by replicas × concurrent
	}, steps, "the plan of a change to concurrent")
	up := s.up(t)
	assert.Equal(t, map[string]int{"update": 2, "replace": 1}, changes(*up.Summary.ResourceChanges),
		"`up` does what the preview planned")

	// `up` ended its wait (rolloutTimeout, 20 s) while a manager drained
	// (60 s at least): it did not wait for the drain, and says so.
	rollout := fleetOutput(t, s, name, "rollout")
	assert.Contains(t, rollout, "in progress", "the rollout was not over when `up` ended")
	assert.Contains(t, rollout, "draining its jobs", "the output names what still drains")
	assert.Contains(t, s.log.String(), "fleet "+name+": rollout in progress", "and so does the log")

	again := s.up(t)
	assert.Empty(t, changes(*again.Summary.ResourceChanges), "the next `up` is a no-op while the drain goes on")

	// kubectl's rollout status counts a terminating but still ready pod as
	// done; the fleet's own reading waits until no manager drains.
	r, err := program.WaitRollout(context.Background(), kube(t), ns, name, 10*time.Minute, nil)
	require.NoError(t, err)
	require.True(t, r.Complete, "rollout after 10 minutes: %s", r)
	w.Stop()
	assertDrained(t, w, 2)
	after, err := kube(t).CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: managerSelector(name)})
	require.NoError(t, err)
	for _, p := range after.Items {
		assert.True(t, before[p.Name], "%s: each ordinal keeps its name, and so its system id", p.Name)
	}
	assert.Len(t, after.Items, 2)
	final := s.up(t)
	assert.Empty(t, changes(*final.Summary.ResourceChanges))
	assert.Contains(t, fleetOutput(t, s, name, "rollout"), "complete: 2 of 2 managers ready")
}

func TestDrainDestroyWaitsForTheManagers(t *testing.T) {
	t.Parallel()
	const name = "drain-destroy"
	ns, jobs := "gitlab-runner-"+name, "gitlab-runner-"+name+"-jobs"
	s := newStack(t, name, drainFleet(name, 32, 4))
	s.up(t)
	waitReady(t, ns, name)
	runnerID := s.runnerID(t, name)
	secretName, _ := tokenSecret(t, name)

	// While a manager exists, everything its drain needs must exist too: its
	// ServiceAccount (its API token), the Role and RoleBinding in the job
	// namespace, the job namespace itself, its token Secret and its runner.
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
		_, err := client.CoreV1().ServiceAccounts(ns).Get(ctx, name, metav1.GetOptions{})
		gone("ServiceAccount", err)
		_, err = client.RbacV1().Roles(jobs).Get(ctx, name+"-executor", metav1.GetOptions{})
		gone("Role", err)
		_, err = client.RbacV1().RoleBindings(jobs).Get(ctx, name+"-executor", metav1.GetOptions{})
		gone("RoleBinding", err)
		_, err = client.CoreV1().Secrets(ns).Get(ctx, secretName, metav1.GetOptions{})
		gone("token Secret", err)
		if namespace, err := client.CoreV1().Namespaces().Get(ctx, jobs, metav1.GetOptions{}); err == nil && namespace.DeletionTimestamp != nil {
			gone("job namespace (terminating)", apierrors.NewNotFound(corev1.Resource("namespaces"), jobs))
		}
		if status, _ := h.gitlab(t, http.MethodGet, "runners/"+runnerID, nil); status == http.StatusNotFound {
			gone("runner in GitLab", apierrors.NewNotFound(corev1.Resource("runners"), runnerID))
		}
	}
	w := watchPods(t, ns, managerSelector(name), check)

	_, err := s.stack.Destroy(context.Background(), optdestroy.ProgressStreams(&s.log))
	require.NoError(t, err, "destroy while the managers drain; engine output:\n%s", tail(s.log.String(), 60))
	w.Stop()
	assertDrained(t, w, 2)
	mu.Lock()
	assert.Empty(t, missing, "nothing a draining manager needs goes before it")
	mu.Unlock()

	status, _ := h.gitlab(t, http.MethodGet, "runners/"+runnerID, nil)
	assert.Equal(t, http.StatusNotFound, status, "the runner is deleted, last")
	for _, n := range []string{ns, jobs} {
		out, _ := h.kubectl(t, "get", "namespace", n, "-o", "name")
		assert.True(t, strings.Contains(out, "NotFound") || !strings.Contains(out, n), "namespace %s is gone: %s", n, out)
	}
	again, err := s.stack.Destroy(context.Background(), optdestroy.ProgressStreams(&s.log))
	require.NoError(t, err)
	assert.Empty(t, changes(*again.Summary.ResourceChanges), "a second destroy has nothing left to do")
}

// fleetOutput is one of a fleet's stack outputs.
func fleetOutput(t testing.TB, s *testStack, fleetName, key string) string {
	t.Helper()
	fleets, _ := s.outputs(t)["fleets"].Value.(map[string]any)
	f, _ := fleets[fleetName].(map[string]any)
	return fmt.Sprint(f[key])
}

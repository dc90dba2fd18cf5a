//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// Day-2 changes on one running fleet. Each step edits the stack file as a
// user would, checks that the preview plans exactly the expected operations
// (anything else, a replacement above all, fails the test), runs up, and
// checks that the cluster and GitLab converged.
func TestDay2Changes(t *testing.T) {
	const name = "day2"
	managers, jobs := "gitlab-runner-"+name, "gitlab-runner-"+name+"-jobs"
	sa := "system:serviceaccount:" + managers + ":" + name
	f := groupFleet(name, 51)
	f["manager"] = map[string]any{"replicas": 2, "antiAffinity": "required",
		"image": "registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v18.6.0"}
	f["executor"] = map[string]any{"build": map[string]any{"cpuLimit": "1"}}
	s := newStack(t, "day2", f)
	s.up(t)
	waitReady(t, managers, name)

	const (
		sts        = "kubernetes:apps/v1:StatefulSet " + name
		runner     = "gitlab:index/userRunner:UserRunner " + name
		config     = "kubernetes:core/v1:ConfigMap " + name + "-config"
		secret     = "kubernetes:core/v1:Secret " + name + "-token"
		role       = "kubernetes:rbac.authorization.k8s.io/v1:Role " + name + "-executor"
		quota      = "kubernetes:core/v1:ResourceQuota " + name + "-jobs"
		fleetStack = "pulumi:pulumi:Stack gitlab-runner-fleet-day2"
	)
	// change edits the fleet, previews, applies, and waits for the rollout;
	// it returns the pods' template revision before and after.
	change := func(t *testing.T, edit func(fleet), want map[string]string, opts ...optpreview.Option) (string, string) {
		t.Helper()
		before := revision(t, managers, name)
		edit(f)
		s.setFleets(t, f)
		steps, _ := s.previewSteps(t, opts...)
		delete(steps, fleetStack) // the stack's outputs may change with its resources
		assert.Equal(t, want, steps, "preview plans exactly the expected changes")
		var upOpts []optup.Option
		for _, o := range opts {
			var po optpreview.Options
			o.ApplyOption(&po)
			if len(po.Replace) > 0 {
				upOpts = append(upOpts, optup.Replace(po.Replace))
			}
		}
		s.up(t, upOpts...)
		waitReady(t, managers, name)
		return before, revision(t, managers, name)
	}
	sub := func(m fleet, key string) map[string]any { return m[key].(map[string]any) }

	t.Run("image tag bump", func(t *testing.T) {
		before, after := change(t, func(f fleet) {
			sub(f, "manager")["image"] = "registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v18.6.1"
		}, map[string]string{sts: "update"})
		assert.NotEqual(t, before, after, "pods rolled")
		images := h.mustKubectl(t, "get", "pods", "-n", managers, "-l", "app.kubernetes.io/instance="+name, "-o", "jsonpath={.items[*].spec.containers[0].image}")
		assert.Equal(t, "registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v18.6.1 registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v18.6.1", images)
	})
	// The job namespace's quota of the fleet's jobs (not the one that holds
	// system-* priority classes at zero) holds the jobs of every manager at
	// once.
	quotaPods := func(t *testing.T) string {
		t.Helper()
		return h.mustKubectl(t, "get", "resourcequota", "gitlab-runner-jobs", "-n", jobs, "-o", "jsonpath={.spec.hard.pods}")
	}
	t.Run("replicas", func(t *testing.T) {
		change(t, func(f fleet) { sub(f, "manager")["replicas"] = 3 }, map[string]string{sts: "update", quota: "update"})
		ready := h.mustKubectl(t, "get", "statefulset", name, "-n", managers, "-o", "jsonpath={.status.readyReplicas}")
		assert.Equal(t, "3", ready)
		assert.Equal(t, fmt.Sprint(3*settings.DefaultConcurrent), quotaPods(t), "room for the jobs of 3 managers")
	})
	t.Run("runner tags", func(t *testing.T) {
		id := s.runnerID(t, name)
		before, after := change(t, func(f fleet) { sub(f, "runner")["tags"] = []string{"e2e", "more"} }, map[string]string{runner: "update"})
		assert.Equal(t, before, after, "a server-side setting does not roll the pods")
		assert.Equal(t, id, s.runnerID(t, name), "updated in place: same runner")
		assert.Equal(t, []string{"e2e", "more"}, gitlabRunner(t, id).TagList)
	})
	t.Run("build resource limits", func(t *testing.T) {
		before, after := change(t, func(f fleet) { sub(f, "executor")["build"] = map[string]any{"cpuLimit": "2"} },
			map[string]string{config: "replace", sts: "update"})
		assert.NotEqual(t, before, after, "config change rolls the pods")
		assert.Contains(t, runnerTemplate(t, managers, name), `cpu_limit = "2"`)
	})
	t.Run("concurrency", func(t *testing.T) {
		before, after := change(t, func(f fleet) { sub(f, "manager")["concurrent"] = 25 },
			map[string]string{config: "replace", sts: "update", quota: "update"})
		assert.NotEqual(t, before, after, "config change rolls the pods")
		assert.Equal(t, "75", quotaPods(t), "room for 25 jobs on each of 3 managers")
	})
	t.Run("option with extra RBAC verbs on", func(t *testing.T) {
		require.False(t, canI(t, sa, "watch", "events", jobs))
		change(t, func(f fleet) { sub(f, "executor")["featureFlags"] = map[string]any{"FF_PRINT_POD_EVENTS": true} },
			map[string]string{config: "replace", sts: "update", role: "update"})
		awaitCanI(t, true, sa, "watch", "events", jobs)
		assert.True(t, canI(t, sa, "watch", "events", jobs), "granted while the option is on")
	})
	t.Run("option with extra RBAC verbs off", func(t *testing.T) {
		change(t, func(f fleet) { delete(sub(f, "executor"), "featureFlags") },
			map[string]string{config: "replace", sts: "update", role: "update"})
		awaitCanI(t, false, sa, "watch", "events", jobs)
		assert.False(t, canI(t, sa, "watch", "events", jobs), "revoked when the option is off")
	})
	t.Run("token rotation", func(t *testing.T) {
		oldID, oldToken := s.runnerID(t, name), tokenOf(t, name)
		urn := runnerURN(t, s, name)
		before, after := change(t, func(fleet) {}, map[string]string{runner: "replace", secret: "replace", sts: "update"},
			optpreview.Replace([]string{urn}))
		assert.NotEqual(t, oldID, s.runnerID(t, name), "a new runner")
		assert.NotEqual(t, oldToken, tokenOf(t, name), "its new token is in the Secret")
		assert.NotEqual(t, before, after, "pods rolled onto the new token")
		status, _ := h.gitlab(t, http.MethodGet, "runners/"+oldID, nil)
		assert.Equal(t, http.StatusNotFound, status, "the old runner is gone from GitLab")
	})
	t.Run("group runner to project runner", func(t *testing.T) {
		oldID := s.runnerID(t, name)
		// A project runner's jobs may reuse images cached on the node: its
		// default pull policy differs, so the config changes too, and so
		// does the admission policy that holds job pods to it.
		change(t, func(f fleet) {
			f["runner"] = map[string]any{"type": "project_type", "projectId": 52, "tags": []string{"e2e", "more"}}
		}, map[string]string{runner: "replace", secret: "replace", sts: "update", config: "replace",
			"kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy " + name + "-manager-pods": "update"})
		r := gitlabRunner(t, s.runnerID(t, name))
		assert.Equal(t, "project_type", r.RunnerType)
		assert.Contains(t, runnerTemplate(t, managers, name), `pull_policy = ["if-not-present"]`)
		status, _ := h.gitlab(t, http.MethodGet, "runners/"+oldID, nil)
		assert.Equal(t, http.StatusNotFound, status, "the group runner is gone")
	})
	t.Run("converged", func(t *testing.T) {
		steps, _ := s.previewSteps(t)
		assert.Empty(t, steps, "nothing left to do")
	})
}

// revision is the StatefulSet's current pod template revision.
func revision(t *testing.T, namespace, name string) string {
	t.Helper()
	return h.mustKubectl(t, "get", "statefulset", name, "-n", namespace, "-o", "jsonpath={.status.currentRevision}")
}

type runnerDetails struct {
	RunnerType string   `json:"runner_type"`
	TagList    []string `json:"tag_list"`
}

func gitlabRunner(t *testing.T, id string) runnerDetails {
	t.Helper()
	status, body := h.gitlab(t, http.MethodGet, "runners/"+id, nil)
	require.Equal(t, http.StatusOK, status, string(body))
	var r runnerDetails
	require.NoError(t, json.Unmarshal(body, &r))
	return r
}

func runnerTemplate(t *testing.T, namespace, fleetName string) string {
	t.Helper()
	return h.mustKubectl(t, "get", "configmaps", "-n", namespace, "-l", "app.kubernetes.io/instance="+fleetName,
		"-o", `jsonpath={.items[*].data.runner-template\.toml}`)
}

// runnerURN finds the fleet's UserRunner in the stack's state.
func runnerURN(t *testing.T, s *testStack, fleetName string) string {
	t.Helper()
	for _, r := range deployment(t, s).Resources {
		if r.Type == "gitlab:index/userRunner:UserRunner" && strings.HasSuffix(string(r.URN), "::"+fleetName) {
			return string(r.URN)
		}
	}
	t.Fatalf("no UserRunner %s in the state", fleetName)
	return ""
}

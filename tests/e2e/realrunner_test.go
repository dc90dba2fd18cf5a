//go:build e2e

package e2e

// The real GitLab Runner in the lab: every fleet's managers run the runner
// built from its source (the pod runner runs their pods as host processes),
// poll the GitLab stand-in for jobs and run them through the Kubernetes
// executor: job pods created through the API server by the manager's
// ServiceAccount, their scripts run by exec in kwok's sandbox.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// stackFleets are the fleets of a committed stack file, as written.
func stackFleets(t testing.TB, file string) []fleet {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(h.root, file))
	require.NoError(t, err)
	var doc struct {
		Config map[string]any `yaml:"config"`
	}
	require.NoError(t, yaml.Unmarshal(data, &doc))
	items, ok := doc.Config["gitlab-runner-fleet:fleets"].([]any)
	require.True(t, ok, "%s has fleets", file)
	var fleets []fleet
	for _, item := range items {
		fleets = append(fleets, item.(map[string]any))
	}
	return fleets
}

// withJobTag adds a tag no other fleet of the suite has to a fleet's
// runner, so the jobs a test queues with it go to that fleet only.
func withJobTag(f fleet, tag string) fleet {
	runner := f["runner"].(map[string]any)
	var tags []any
	if list, ok := runner["tags"].([]any); ok {
		tags = slices.Clone(list)
	}
	runner["tags"] = append(tags, tag)
	return f
}

// managerNamespace is a fleet's managers' namespace.
func managerNamespace(f fleet) string {
	if ns, ok := f["namespace"].(string); ok {
		return ns
	}
	return "gitlab-runner-" + f["name"].(string)
}

// jobNamespaceOf is a fleet's job namespace.
func jobNamespaceOf(f fleet) string {
	if ns, ok := f["jobNamespace"].(string); ok {
		return ns
	}
	return managerNamespace(f) + "-jobs"
}

// The dev stack's fleet, as committed, takes a job queued for it: the job
// succeeds and its log holds the script's output; its pod was created in the
// job namespace by the manager's ServiceAccount, allowed by the fleet's
// RoleBinding and judged by Pod Security at the namespace's level, and the
// same account deleted it once the job was over.
func TestRealRunnerDevFleetRunsAJob(t *testing.T) {
	t.Parallel()
	const name, tag, project = "rr-dev", "rr-dev-job", 101
	f := stackFleets(t, "Pulumi.dev.yaml")[0]
	f["name"] = name
	f = withJobTag(f, tag)
	managers, jobs := managerNamespace(f), jobNamespaceOf(f)
	s := newStack(t, name, f)
	s.up(t)
	waitReady(t, managers, name)

	pods := recordPods(t, jobs)
	queued := queueJob(t, project, "hello", ciJob{Tags: []string{tag}, Script: []string{`echo "hello from job $CI_JOB_ID on $CI_RUNNER_DESCRIPTION"`}})
	job := requireJobSucceeded(t, project, queued.ID)
	assert.Contains(t, jobTrace(t, project, job.ID), fmt.Sprintf("hello from job %d on ", job.ID), "the script's output is in the job's log")
	require.NotNil(t, job.RunnerManager)
	assert.Contains(t, []string{systemIDOf(managers, name+"-0"), systemIDOf(managers, name+"-1")}, job.RunnerManager.SystemID,
		"one of the fleet's managers ran it")

	recorded := pods.waitGone(t, jobTimeout)
	require.Len(t, recorded, 1, "one job pod")
	pod := recorded[0].Pod
	manager := "system:serviceaccount:" + managers + ":" + name
	level := h.mustKubectl(t, "get", "namespace", jobs, "-o", "jsonpath={.metadata.labels.pod-security\\.kubernetes\\.io/enforce}")
	require.NotEmpty(t, level)
	var created, deleted []auditEvent
	for _, e := range auditEvents(t, jobs) {
		if e.ObjectRef.Resource != "pods" || e.ObjectRef.Subresource != "" {
			continue
		}
		switch e.Verb {
		case "create":
			created = append(created, e)
		case "delete":
			deleted = append(deleted, e)
		}
	}
	require.Len(t, created, 1, "one pod create in %s", jobs)
	c := created[0]
	assert.Equal(t, manager, c.User.Username, "created by the manager's ServiceAccount")
	assert.Equal(t, 201, c.ResponseStatus.Code)
	assert.Equal(t, "allow", c.Annotations["authorization.k8s.io/decision"])
	assert.Contains(t, c.Annotations["authorization.k8s.io/reason"], `RoleBinding "`+name+`-executor/`+jobs+`" of Role "`+name+`-executor"`,
		"allowed by the fleet's RoleBinding")
	assert.Equal(t, level+":latest", c.Annotations["pod-security.kubernetes.io/enforce-policy"],
		"judged by Pod Security at the job namespace's level")
	// The manager deletes the pod; the node (kwok, standing for its
	// kubelet) removes it once its containers are stopped.
	var byManager int
	for _, d := range deleted {
		assert.Equal(t, pod.Name, d.ObjectRef.Name)
		if d.User.Username == manager && d.ResponseStatus.Code == 200 {
			byManager++
		} else {
			assert.Equal(t, "kwok-controller", d.User.Username, "only the manager and the node delete the pod")
		}
	}
	assert.Equal(t, 1, byManager, "deleted by the manager's ServiceAccount once the job was over")
	assert.True(t, strings.HasPrefix(pod.Name, "runner-"), "the runner's pod: %s", pod.Name)
}

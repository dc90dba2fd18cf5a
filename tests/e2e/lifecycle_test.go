//go:build e2e

package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The resources one fleet creates, as "type name" (besides the stack itself).
func fleetResources(name string) []string {
	return []string{
		"gitlab-runner-fleet:index:RunnerFleet " + name,
		"gitlab:index/userRunner:UserRunner " + name,
		"kubernetes:core/v1:Namespace gitlab-runner-" + name,
		"kubernetes:core/v1:Namespace gitlab-runner-" + name + "-jobs",
		"kubernetes:core/v1:ServiceAccount " + name,
		"kubernetes:rbac.authorization.k8s.io/v1:Role " + name + "-executor",
		"kubernetes:rbac.authorization.k8s.io/v1:RoleBinding " + name + "-executor",
		"kubernetes:core/v1:Secret " + name + "-token",
		"kubernetes:core/v1:ConfigMap " + name + "-config",
		"kubernetes:core/v1:ConfigMap " + name + "-entrypoint",
		"kubernetes:core/v1:Service " + name,
		"kubernetes:apps/v1:StatefulSet " + name,
		"kubernetes:policy/v1:PodDisruptionBudget " + name,
		"kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy " + name + "-manager-pods",
		"kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding " + name + "-manager-pods",
		"kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy " + name + "-manager-secrets",
		"kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding " + name + "-manager-secrets",
		"kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy " + name + "-manager-services",
		"kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding " + name + "-manager-services",
		"kubernetes:networking.k8s.io/v1:NetworkPolicy " + name + "-manager",
		"kubernetes:networking.k8s.io/v1:NetworkPolicy " + name + "-jobs",
		"kubernetes:core/v1:ServiceAccountPatch " + name + "-jobs-default-sa",
		"kubernetes:core/v1:ResourceQuota " + name + "-jobs",
		"kubernetes:core/v1:LimitRange " + name + "-jobs",
		"kubernetes:core/v1:ResourceQuota " + name + "-jobs-system-priority",
	}
}

func TestLifecycle(t *testing.T) {
	const name = "life"
	s := newStack(t, "lifecycle", groupFleet(name, 11))
	ctx := context.Background()

	// Preview of a new stack: exactly the expected resources, all creates.
	plan, res := s.previewSteps(t)
	want := map[string]string{
		"pulumi:pulumi:Stack gitlab-runner-fleet-lifecycle": "create",
		"pulumi:providers:gitlab default_8_11_0":            "create",
		"pulumi:providers:kubernetes default_4_25_0":        "create",
	}
	for _, r := range fleetResources(name) {
		want[r] = "create"
	}
	assert.Equal(t, want, plan, "preview lists exactly the fleet's resources")
	resources := len(want) - 2 // the summary does not count default providers
	assert.Equal(t, map[string]int{"create": resources}, changes(res.ChangeSummary))

	// up creates them and the StatefulSet becomes Ready on the kwok nodes.
	up := s.up(t)
	assert.Equal(t, map[string]int{"create": resources}, changes(*up.Summary.ResourceChanges))
	waitReady(t, "gitlab-runner-"+name, name)
	nodes := h.mustKubectl(t, "get", "pods", "-n", "gitlab-runner-"+name, "-o", "jsonpath={range .items[*]}{.spec.nodeName} {.status.phase}{\"\\n\"}{end}")
	lines := strings.Fields(strings.ReplaceAll(nodes, "\n", " "))
	require.Len(t, lines, 4, "two pods: %s", nodes)
	assert.NotEqual(t, lines[0], lines[2], "required anti-affinity puts the managers on different nodes")
	assert.Equal(t, "Running", lines[1])

	// The runner exists in GitLab with the stack's settings.
	id := s.runnerID(t, name)
	runner := gitlabRunner(t, id)
	assert.Equal(t, "group_type", runner.RunnerType)
	assert.Equal(t, []string{"e2e"}, runner.TagList)

	// A second up changes nothing; refresh finds no drift.
	again := s.up(t)
	assert.Empty(t, changes(*again.Summary.ResourceChanges), "second up is a no-op")
	refresh := s.refresh(t)
	assert.Empty(t, changes(*refresh.Summary.ResourceChanges), "refresh finds no drift")
	afterRefresh := s.preview(t)
	assert.Empty(t, changes(afterRefresh.ChangeSummary), "nothing to do after refresh")

	// destroy removes every Kubernetes object and the runner.
	_, err := s.stack.Destroy(ctx, optdestroy.ProgressStreams(&s.log))
	require.NoError(t, err, tail(s.log.String(), 40))
	for _, ns := range []string{"gitlab-runner-" + name, "gitlab-runner-" + name + "-jobs"} {
		out, _ := h.kubectl(t, "get", "all,secrets,configmaps,roles,rolebindings,serviceaccounts,pdb", "-n", ns, "-l", "app.kubernetes.io/instance="+name, "-o", "name")
		assert.Empty(t, strings.TrimSpace(out), "objects left in %s", ns)
		phase, _ := h.kubectl(t, "get", "namespace", ns, "-o", "jsonpath={.status.phase}")
		assert.True(t, phase == "" || strings.Contains(phase, "Terminating") || strings.Contains(phase, "NotFound"), "namespace %s gone or going: %s", ns, phase)
	}
	status, _ := h.gitlab(t, http.MethodGet, "runners/"+id, nil)
	assert.Equal(t, http.StatusNotFound, status, "the runner is gone from GitLab")
}

func TestSeveralFleetsSideBySide(t *testing.T) {
	a, b := groupFleet("side-a", 21), groupFleet("side-b", 22)
	b["runner"] = map[string]any{"type": "project_type", "projectId": 23, "tags": []string{"b"}}
	s := newStack(t, "side-by-side", a, b)
	s.up(t)
	waitReady(t, "gitlab-runner-side-a", "side-a")
	waitReady(t, "gitlab-runner-side-b", "side-b")
	assert.NotEqual(t, s.runnerID(t, "side-a"), s.runnerID(t, "side-b"), "one runner per fleet")
}

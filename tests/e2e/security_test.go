//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	runnerfleet "github.com/glrf/gitlab-runner-fleet/components/fleet"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// canI asks the API server whether the fleet's ServiceAccount may do verb on
// resource in namespace (a SubjectAccessReview through kubectl).
func canI(t testing.TB, sa, verb, resource, namespace string) bool {
	t.Helper()
	args := []string{"auth", "can-i", verb, resource, "--as", sa}
	if base, sub, ok := strings.Cut(resource, "/"); ok {
		// kubectl's "pods/exec" form is unreliable; --subresource is exact.
		args = []string{"auth", "can-i", verb, base, "--subresource", sub, "--as", sa}
	}
	if namespace == "" {
		args = append(args, "--all-namespaces")
	} else {
		args = append(args, "-n", namespace)
	}
	out, err := h.kubectl(t, args...)
	// The answer is the last line; kubectl may print warnings before it.
	lines := strings.Split(strings.TrimSpace(out), "\n")
	answer := strings.TrimSpace(lines[len(lines)-1])
	if err != nil {
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, "kubectl auth can-i: %s", out)
		require.Equal(t, "no", answer, "kubectl auth can-i %s %s: %s", verb, resource, out)
	}
	return answer == "yes"
}

// awaitCanI waits until the API server answers want to whether the fleet's
// ServiceAccount may do verb on resource in namespace. Its RBAC authorizer
// reads Roles and RoleBindings from an informer cache, which catches up with
// a write a moment later: right after `up` created or changed one, the old
// answer may still come.
func awaitCanI(t testing.TB, want bool, sa, verb, resource, namespace string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for canI(t, sa, verb, resource, namespace) != want {
		require.True(t, time.Now().Before(deadline), "RBAC never answered %v to %s %s in %q for %s", want, verb, resource, namespace, sa)
		time.Sleep(200 * time.Millisecond)
	}
}

// qualified is a rule's resource as kubectl names it (pods, poddisruptionbudgets.policy).
func qualified(r runnerfleet.PolicyRule, resource string) string {
	if r.APIGroup == "" {
		return resource
	}
	return resource + "." + r.APIGroup
}

func TestSecurityRBACMatrix(t *testing.T) {
	const name = "rbac"
	s := newStack(t, "security-rbac", groupFleet(name, 41))
	s.up(t)
	managers, jobs := "gitlab-runner-"+name, "gitlab-runner-"+name+"-jobs"
	sa := "system:serviceaccount:" + managers + ":" + name

	defaults := settings.FleetSettings{Name: name, Runner: settings.RunnerSettings{Type: "instance_type"}}.WithDefaults("x")
	rules := runnerfleet.RoleRules(defaults.Executor)
	require.NotEmpty(t, rules)
	// The first allow of the Role that up just bound: then RBAC has seen both.
	awaitCanI(t, true, sa, rules[0].Verbs[0], qualified(rules[0], rules[0].Resources[0]), jobs)
	for _, r := range rules {
		for _, res := range r.Resources {
			for _, verb := range r.Verbs {
				assert.True(t, canI(t, sa, verb, qualified(r, res), jobs), "allowed in the job namespace: %s %s", verb, res)
				assert.False(t, canI(t, sa, verb, qualified(r, res), managers), "denied in the managers' namespace: %s %s", verb, res)
				assert.False(t, canI(t, sa, verb, qualified(r, res), "default"), "denied in other namespaces: %s %s", verb, res)
			}
		}
	}
	denied := []struct{ verb, resource, namespace string }{
		{"*", "pods", jobs},
		{"*", "*", jobs},
		{"get", "secrets", managers},
		{"get", "secrets", "kube-system"},
		{"list", "secrets", jobs},
		{"list", "nodes", ""},
		{"get", "nodes", ""},
		{"create", "namespaces", ""},
		{"delete", "namespaces", ""},
		{"list", "clusterroles.rbac.authorization.k8s.io", ""},
		{"create", "roles.rbac.authorization.k8s.io", jobs},
		{"create", "rolebindings.rbac.authorization.k8s.io", jobs},
		{"escalate", "roles.rbac.authorization.k8s.io", jobs},
		{"bind", "roles.rbac.authorization.k8s.io", jobs},
		{"bind", "clusterroles.rbac.authorization.k8s.io", jobs},
		{"impersonate", "serviceaccounts", jobs},
		{"impersonate", "users", ""},
		{"create", "deployments.apps", jobs},
		{"create", "configmaps", jobs},
		{"create", "persistentvolumeclaims", jobs},
		{"watch", "events", jobs},
		{"update", "pods", jobs},
		{"create", "poddisruptionbudgets.policy", jobs},
		{"create", "serviceaccounts/token", jobs},
	}
	for _, d := range denied {
		assert.False(t, canI(t, sa, d.verb, d.resource, d.namespace), "denied: %s %s in %q", d.verb, d.resource, d.namespace)
	}
}

func TestSecurityPodSecurityRestricted(t *testing.T) {
	const name = "pss"
	s := newStack(t, "security-pss", groupFleet(name, 42))
	s.up(t)
	managers := "gitlab-runner-" + name
	waitReady(t, managers, name)

	enforce := h.mustKubectl(t, "get", "namespace", managers, "-o", `jsonpath={.metadata.labels.pod-security\.kubernetes\.io/enforce}`)
	assert.Equal(t, "restricted", enforce)
	phases := h.mustKubectl(t, "get", "pods", "-n", managers, "-l", "app.kubernetes.io/instance="+name, "-o", "jsonpath={.items[*].status.phase}")
	assert.Equal(t, "Running Running", phases, "the runner pods were admitted under restricted")

	// The API server itself enforces the level: a privileged pod is refused there.
	bad := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"bad"},"spec":{"containers":[{"name":"c","image":"busybox:1.37","securityContext":{"privileged":true}}]}}`
	cmd := exec.Command("kubectl", "--kubeconfig", h.kubeconfig, "apply", "--dry-run=server", "-n", managers, "-f", "-")
	cmd.Stdin = strings.NewReader(bad)
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "violates PodSecurity \"restricted")
}

func TestSecurityTokenOnlyInTheSecret(t *testing.T) {
	const name = "leak"
	s := newStack(t, "security-leak", groupFleet(name, 43))
	s.up(t)
	managers := "gitlab-runner-" + name

	token := tokenOf(t, name)
	require.True(t, strings.HasPrefix(token, "glrt-"), "the Secret holds the runner's token")

	for _, ns := range []string{managers, managers + "-jobs"} {
		configMaps := h.mustKubectl(t, "get", "configmaps", "-n", ns, "-o", "json")
		assert.NotContains(t, configMaps, token, "token in a ConfigMap of %s", ns)
		workloads := h.mustKubectl(t, "get", "statefulsets,pods,services,serviceaccounts", "-n", ns, "-o", "json")
		assert.NotContains(t, workloads, token, "token in a workload of %s", ns)
	}
	outputs, err := json.Marshal(s.outputs(t))
	require.NoError(t, err)
	assert.NotContains(t, string(outputs), token, "token in the stack outputs")
	assert.NotContains(t, s.log.String(), token, "token in the engine's output")

	// The state file holds the token only encrypted.
	var stateFiles []string
	require.NoError(t, filepath.WalkDir(h.stateDir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(path, "security-leak") && !strings.Contains(path, "history") {
			stateFiles = append(stateFiles, path)
		}
		return err
	}))
	require.NotEmpty(t, stateFiles, "state of the stack under %s", h.stateDir)
	for _, f := range stateFiles {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		assert.NotContains(t, string(data), token, "plaintext token in %s", f)
		assert.NotContains(t, string(data), strings.TrimPrefix(token, "glrt-"), "token body in %s", f)
		if strings.HasSuffix(f, ".json") {
			assert.Contains(t, string(data), "4dabf18193072939515e22adb298388d", "the state keeps the token as an encrypted secret")
		}
	}
}

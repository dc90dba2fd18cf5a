//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/glrf/gitlab-runner-fleet/components/runnerconfig"
	"github.com/glrf/gitlab-runner-fleet/components/runnerversion"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// committedFleets are the fleets of the committed stack files, renamed (and
// their namespaces prefixed) so they can share this suite's cluster, and
// moved to groups and projects the GitLab stand-in has.
func committedFleets(t *testing.T, prefix string) []fleet {
	t.Helper()
	var all []fleet
	for _, file := range []string{"Pulumi.dev.yaml", "Pulumi.production.yaml"} {
		data, err := os.ReadFile(filepath.Join(h.root, file))
		require.NoError(t, err)
		var doc struct {
			Config map[string]any `yaml:"config"`
		}
		require.NoError(t, yaml.Unmarshal(data, &doc))
		fleets, ok := doc.Config["gitlab-runner-fleet:fleets"].([]any)
		require.True(t, ok, "%s has fleets", file)
		for _, item := range fleets {
			f := item.(map[string]any)
			f["name"] = prefix + f["name"].(string)
			for _, key := range []string{"namespace", "jobNamespace"} {
				if ns, ok := f[key].(string); ok {
					f[key] = prefix + ns
				}
			}
			runner := f["runner"].(map[string]any)
			if id, ok := runner["projectId"].(int); ok && id >= 1000 {
				runner["projectId"] = id % 1000 // the stand-in has projects 1-999
			}
			// The local cluster has no Prometheus Operator (TestCIPodMonitor…
			// covers monitoring); the Secrets the fleets name do not exist
			// here either, and their namespaces do not exist before `up`, so
			// the pods just wait for them, which kwok does not show.
			if m, ok := f["manager"].(map[string]any); ok {
				delete(m, "monitoring")
			}
			all = append(all, f)
		}
	}
	return all
}

// jobPodOf builds the job pod the runner would create from the fleet's
// config as deployed: its runner template read back from the cluster.
func jobPodOf(t *testing.T, namespace, fleetName string) (*corev1.Pod, string) {
	t.Helper()
	var template runnerconfig.RunnerTemplate
	_, err := toml.Decode(runnerTemplate(t, namespace, fleetName), &template)
	require.NoError(t, err)
	require.Len(t, template.Runners, 1)
	sts, err := kube(t).AppsV1().StatefulSets(namespace).Get(context.Background(), fleetName, metav1.GetOptions{})
	require.NoError(t, err)
	version, ok := settings.RunnerVersionOfImage(sts.Spec.Template.Spec.Containers[0].Image)
	require.True(t, ok)
	pod, err := runnerconfig.JobPod(template.Runners[0], version, runnerconfig.JobPodOptions{Services: 1})
	require.NoError(t, err)
	return pod, template.Runners[0].Kubernetes.Namespace
}

// waitDefaultServiceAccount waits for the controller to create a namespace's
// default ServiceAccount, which job pods without their own use.
func waitDefaultServiceAccount(t *testing.T, namespace string) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		_, err := kube(t).CoreV1().ServiceAccounts(namespace).Get(context.Background(), "default", metav1.GetOptions{})
		if err == nil {
			return
		}
		require.True(t, time.Now().Before(deadline), "no default ServiceAccount in %s: %v", namespace, err)
	}
}

// The job pods of every committed stack's fleets are accepted by the API
// server in their job namespace, created as the runner manager creates them:
// by its ServiceAccount, through RBAC, Pod Security admission and validation.
func TestJobPodsAreAdmittedInEveryJobNamespace(t *testing.T) {
	fleets := committedFleets(t, "jp-")
	s := newStack(t, "jobpods", fleets...)
	s.up(t)

	levels := map[string]bool{}
	for _, f := range fleets {
		name := f["name"].(string)
		t.Run(name, func(t *testing.T) {
			managers := "gitlab-runner-" + name
			if ns, ok := f["namespace"].(string); ok {
				managers = ns
			}
			pod, jobNamespace := jobPodOf(t, managers, name)
			namespace, err := kube(t).CoreV1().Namespaces().Get(context.Background(), jobNamespace, metav1.GetOptions{})
			require.NoError(t, err)
			level := namespace.Labels["pod-security.kubernetes.io/enforce"]
			levels[level] = true
			waitDefaultServiceAccount(t, jobNamespace)
			_, err = kubeAs(t, managers, name).CoreV1().Pods(jobNamespace).Create(context.Background(), pod,
				metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			assert.NoError(t, err, "the %s job namespace %s admits the fleet's job pods", level, jobNamespace)
		})
	}
	assert.Equal(t, map[string]bool{"baseline": true, "restricted": true, "privileged": true}, levels, "the stacks cover every level")

	// The same request with the runner's default pod (no security contexts)
	// is refused at restricted: the dry-run above has teeth.
	t.Run("runner defaults at restricted", func(t *testing.T) {
		const name = "jp-release-project"
		raw, err := runnerconfig.JobPod(runnerconfig.RunnerConfig{Executor: "kubernetes",
			Kubernetes: runnerconfig.KubernetesConfig{Namespace: "jp-gitlab-release-jobs", Image: "alpine:3.22"}},
			runnerversion.NewestKnown, runnerconfig.JobPodOptions{Services: 1})
		require.NoError(t, err)
		_, err = kubeAs(t, "jp-gitlab-runners", name).CoreV1().Pods("jp-gitlab-release-jobs").Create(context.Background(), raw,
			metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		require.Error(t, err)
		assert.True(t, apierrors.IsForbidden(err), "%v", err)
		assert.True(t, strings.Contains(err.Error(), "violates PodSecurity \"restricted:latest\""), "%v", err)
	})
}

// Package tests runs the program as a whole: every committed stack file
// through Pulumi mocks here, and through the real engine in tests/e2e.
package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	"github.com/glrf/gitlab-runner-fleet/components/fleet"
	"github.com/glrf/gitlab-runner-fleet/components/runnerconfig"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
	"github.com/glrf/gitlab-runner-fleet/program"
	"github.com/glrf/gitlab-runner-fleet/tests/mocks"
)

// loadStackConfig reads a Pulumi.<stack>.yaml into the flat form the engine
// hands a program: structured values as JSON, secure values listed as secret.
func loadStackConfig(t *testing.T, path string) (map[string]string, []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var file struct {
		Config map[string]any `yaml:"config"`
	}
	require.NoError(t, yaml.Unmarshal(data, &file))
	config := map[string]string{}
	var secrets []string
	for key, value := range file.Config {
		switch v := value.(type) {
		case string:
			config[key] = v
		case map[string]any:
			if secure, ok := v["secure"]; ok && len(v) == 1 {
				// Encrypted values cannot be read here; the program only needs to know they are secret.
				config[key] = fmt.Sprint(secure)
				secrets = append(secrets, key)
				continue
			}
			encoded, err := json.Marshal(v)
			require.NoError(t, err)
			config[key] = string(encoded)
		case []any:
			encoded, err := json.Marshal(v)
			require.NoError(t, err)
			config[key] = string(encoded)
		default:
			config[key] = fmt.Sprint(v)
		}
	}
	return config, secrets
}

// withPrerequisites is the program against a cluster that holds what the
// stack's fleets expect to exist (the existing Secrets, ConfigMaps and PVCs
// they name, the Prometheus Operator's kinds), as an operator prepares it.
func withPrerequisites(t *testing.T, config map[string]string) program.Options {
	t.Helper()
	fleets, problems := settings.DecodeFleets(config["gitlab-runner-fleet:fleets"])
	require.NoError(t, problems.Err())
	client := fake.NewClientset()
	ctx := context.Background()
	namespaces := map[string]bool{}
	for i, f := range fleets {
		for _, r := range f.WithDefaults("test").References(fmt.Sprintf("fleets[%d]", i)) {
			if !namespaces[r.Namespace] {
				_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.Namespace}}, metav1.CreateOptions{})
				require.NoError(t, err)
				namespaces[r.Namespace] = true
			}
			meta := metav1.ObjectMeta{Name: r.Name, Namespace: r.Namespace}
			var err error
			switch r.Kind {
			case "Secret":
				_, err = client.CoreV1().Secrets(r.Namespace).Create(ctx, &corev1.Secret{ObjectMeta: meta, Data: map[string][]byte{r.Key: []byte("x")}}, metav1.CreateOptions{})
			case "ConfigMap":
				_, err = client.CoreV1().ConfigMaps(r.Namespace).Create(ctx, &corev1.ConfigMap{ObjectMeta: meta}, metav1.CreateOptions{})
			case "PersistentVolumeClaim":
				_, err = client.CoreV1().PersistentVolumeClaims(r.Namespace).Create(ctx, &corev1.PersistentVolumeClaim{ObjectMeta: meta}, metav1.CreateOptions{})
			}
			if err != nil && !apierrors.IsAlreadyExists(err) {
				require.NoError(t, err)
			}
		}
	}
	client.Resources = []*metav1.APIResourceList{{GroupVersion: settings.MonitoringGroupVersion,
		APIResources: []metav1.APIResource{{Name: "podmonitors", Kind: "PodMonitor"}, {Name: "servicemonitors", Kind: "ServiceMonitor"}}}}
	return program.Options{Kube: func(program.KubeAccess) (kubernetes.Interface, error) { return client, nil }}
}

func stackFiles(t *testing.T) []string {
	files, err := filepath.Glob("../Pulumi.*.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 2, "the dev stack and the example production stack")
	return files
}

func TestEveryStackFileDeploys(t *testing.T) {
	for _, file := range stackFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			config, secrets := loadStackConfig(t, file)
			run := withPrerequisites(t, config).Run
			deployed, err := mocks.Run(run, config, secrets)
			require.NoError(t, err)
			previewed, err := mocks.RunPreview(run, config, secrets)
			require.NoError(t, err)
			for _, m := range []*mocks.Mocks{deployed, previewed} {
				fleets := m.OfType("gitlab-runner-fleet:index:RunnerFleet")
				require.NotEmpty(t, fleets)
				assert.Len(t, m.OfType("kubernetes:apps/v1:StatefulSet"), len(fleets), "one StatefulSet per fleet")
			}
			assert.Len(t, previewed.All(), len(deployed.All()), "a preview registers what an update does")
		})
	}
}

func TestStackFilesHoldNoPlaintextSecret(t *testing.T) {
	for _, file := range stackFiles(t) {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		for _, marker := range []string{"glrt-", "glpat-", "GR1348941"} {
			assert.NotContains(t, string(data), marker, "%s holds a token", file)
		}
		config, secrets := loadStackConfig(t, file)
		if _, ok := config["gitlab:token"]; ok {
			assert.Contains(t, secrets, "gitlab:token", "%s: gitlab:token must be a secure value", file)
		}
	}
}

// Every committed stack's job pods, built the way the runner builds them from
// the config.toml template the stack renders, are admitted by the Pod
// Security level of the job namespace the stack creates.
func TestEveryStackFilesJobPodsAreAdmitted(t *testing.T) {
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks())
	require.NoError(t, err)
	for _, file := range stackFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			config, secrets := loadStackConfig(t, file)
			m, err := mocks.Run(withPrerequisites(t, config).Run, config, secrets)
			require.NoError(t, err)
			levels := map[string]string{}
			for _, ns := range m.OfType("kubernetes:core/v1:Namespace") {
				levels[mocks.String(ns.Inputs, "metadata", "name")] = mocks.String(ns.Inputs, "metadata", "labels", "pod-security.kubernetes.io/enforce")
			}
			fleets := m.OfType(fleet.RunnerFleetType)
			checked := 0
			for _, cm := range m.OfType("kubernetes:core/v1:ConfigMap") {
				text := mocks.String(cm.Inputs, "data", "runner-template.toml")
				if text == "" {
					continue
				}
				var template runnerconfig.RunnerTemplate
				_, err := toml.Decode(text, &template)
				require.NoError(t, err)
				runner := template.Runners[0]
				level, created := levels[runner.Kubernetes.Namespace]
				require.True(t, created, "the stack creates job namespace %s", runner.Kubernetes.Namespace)
				sts := m.Find("kubernetes:apps/v1:StatefulSet", cm.ParentName)
				require.NotNil(t, sts)
				containers, _ := mocks.Get(sts.Inputs, "spec", "template", "spec", "containers")
				version, ok := settings.RunnerVersionOfImage(containers.ArrayValue()[0].ObjectValue()["image"].StringValue())
				require.True(t, ok)
				pod, err := runnerconfig.JobPod(runner, version, runnerconfig.JobPodOptions{Services: 1})
				require.NoError(t, err)
				lvl, err := api.ParseLevel(level)
				require.NoError(t, err)
				for _, r := range evaluator.EvaluatePod(api.LevelVersion{Level: lvl, Version: api.LatestVersion()}, &pod.ObjectMeta, &pod.Spec) {
					assert.True(t, r.Allowed, "%s: job pods refused at %s: %s (%s)", cm.ParentName, level, r.ForbiddenReason, r.ForbiddenDetail)
				}
				checked++
			}
			assert.Equal(t, len(fleets), checked, "every fleet's job pods")
		})
	}
}

// The production example says it pulls images through a registry mirror:
// every image of it, the managers' and every container's of its job pods
// (build, helper, init and services, as the runner builds them from each
// fleet's final [[runners]] entry), comes from that mirror.
func TestProductionPullsEveryImageThroughItsMirror(t *testing.T) {
	const mirror = "registry.example.com/mirror/"
	config, secrets := loadStackConfig(t, "../Pulumi.production.yaml")
	m, err := mocks.Run(withPrerequisites(t, config).Run, config, secrets)
	require.NoError(t, err)
	images := map[string]string{}
	for _, sts := range m.OfType("kubernetes:apps/v1:StatefulSet") {
		containers, _ := mocks.Get(sts.Inputs, "spec", "template", "spec", "containers")
		for _, c := range containers.ArrayValue() {
			images[sts.Name+" manager"] = c.ObjectValue()["image"].StringValue()
		}
	}
	fleets, problems := settings.DecodeFleets(config["gitlab-runner-fleet:fleets"])
	require.NoError(t, problems.Err())
	for _, f := range fleets {
		s := f.WithDefaults("production")
		final, err := runnerconfig.FinalEntry(s)
		require.NoError(t, err)
		pod, err := runnerconfig.JobPod(final, s.RunnerVersion(), runnerconfig.JobPodOptions{Job: &runnerconfig.JobSample{ID: 1, ProjectID: 1}})
		require.NoError(t, err)
		for _, c := range append(pod.Spec.InitContainers, pod.Spec.Containers...) {
			images[s.Name+" job "+c.Name] = c.Image
		}
	}
	require.Len(t, m.OfType("kubernetes:apps/v1:StatefulSet"), len(fleets))
	for where, image := range images {
		assert.True(t, strings.HasPrefix(image, mirror), "%s pulls %s, not through %s", where, image, mirror)
	}
}

//go:build e2e

package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/glrf/gitlab-runner-fleet/components/runnerconfig"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

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

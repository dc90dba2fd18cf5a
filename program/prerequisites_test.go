package program_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/glrf/gitlab-runner-fleet/program"
	"github.com/glrf/gitlab-runner-fleet/tests/mocks"
)

// withCluster runs the program against a cluster holding objects.
func withCluster(objects ...runtime.Object) (program.Options, *fake.Clientset) {
	client := fake.NewClientset(objects...)
	return program.Options{Kube: func(program.KubeAccess) (kubernetes.Interface, error) { return client, nil }}, client
}

func namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

const pvcFleet = `[{"name":"builds","jobNamespace":"ci-jobs","createJobNamespace":false,"runner":{"type":"group_type","groupId":42},
	"executor":{"volumes":[{"pvc":"gradle-cache","mountPath":"/cache/gradle"}]}}]`

func TestAMissingPVCIsAnErrorBeforeAnythingIsCreated(t *testing.T) {
	opts, _ := withCluster(namespace("ci-jobs"))
	m, err := mocks.Run(opts.Run, baseConfig(pvcFleet), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "fleets[0] (builds).executor.volumes[0].pvc: names PersistentVolumeClaim ci-jobs/gradle-cache, which does not exist; create it first")
	for _, r := range m.All() {
		assert.False(t, r.Custom && strings.HasPrefix(r.Type, "kubernetes:"), "nothing created: %s %s", r.Type, r.Name)
	}

	opts, _ = withCluster(namespace("ci-jobs"), &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "gradle-cache", Namespace: "ci-jobs"}})
	_, err = mocks.Run(opts.Run, baseConfig(pvcFleet), nil)
	require.NoError(t, err, "once the claim exists")
}

func TestAnObjectInANamespaceNotYetCreatedIsAWarning(t *testing.T) {
	opts, _ := withCluster() // the stack creates the managers' namespace itself
	config := baseConfig(`[{"name":"builds","runner":{"type":"group_type","groupId":42},"cache":{"type":"s3","existingSecret":"cache-keys","s3":{"bucketName":"ci"}}}]`)
	_, err := mocks.Run(opts.Run, config, nil)
	require.NoError(t, err)
}

func TestAMissingKeyOfAnExistingSecret(t *testing.T) {
	opts, _ := withCluster(namespace("runners"),
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "vault-token", Namespace: "runners"}, Data: map[string][]byte{"token": []byte("glrt-x")}})
	config := baseConfig(`[{"name":"external","namespace":"runners","createNamespace":false,"tokenSecret":{"name":"vault-token"}}]`)
	_, err := mocks.Run(opts.Run, config, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `fleets[0] (external).tokenSecret: names Secret runners/vault-token (key runner-token), which has no key "runner-token"`)

	config = baseConfig(`[{"name":"external","namespace":"runners","createNamespace":false,"tokenSecret":{"name":"vault-token","key":"token"}}]`)
	m, err := mocks.Run(opts.Run, config, nil)
	require.NoError(t, err)
	assert.Empty(t, m.OfType("gitlab:index/userRunner:UserRunner"))
}

func TestMonitoringNeedsThePrometheusOperatorsKinds(t *testing.T) {
	config := baseConfig(`[{"name":"builds","runner":{"type":"group_type","groupId":42},
		"manager":{"monitoring":{"kind":"PodMonitor"}},"network":{"metricsFrom":["monitoring"]}}]`)
	opts, _ := withCluster()
	_, err := mocks.Run(opts.Run, config, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "fleets[0] (builds).manager.monitoring.kind: asks for a PodMonitor, but the cluster does not serve monitoring.coreos.com/v1 PodMonitor: install the Prometheus Operator's CRDs first")

	opts, client := withCluster()
	client.Resources = []*metav1.APIResourceList{{GroupVersion: "monitoring.coreos.com/v1", APIResources: []metav1.APIResource{{Name: "podmonitors", Kind: "PodMonitor"}}}}
	m, err := mocks.Run(opts.Run, config, nil)
	require.NoError(t, err)
	assert.Len(t, m.OfType("kubernetes:monitoring.coreos.com/v1:PodMonitor"), 1)
}

// A cluster that cannot be reached stops only its own fleets (their
// resources fail with the provider's error), not the whole stack.
func TestAnUnreachableClusterIsNotCheckedButNotFatal(t *testing.T) {
	opts, client := withCluster()
	client.PrependReactor("get", "version", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("dial tcp 10.0.0.1:6443: connect: connection refused")
	})
	m, err := mocks.Run(opts.Run, baseConfig(pvcFleet), nil)
	require.NoError(t, err)
	assert.NotEmpty(t, m.OfType("kubernetes:apps/v1:StatefulSet"), "the fleet is registered; its cluster decides")
}

//go:build e2e

package e2e

// What real CI needs, where the API server decides: existing Secrets,
// ConfigMaps and PVCs that fleets name (mounted in the manager pod and in
// job pods), a PVC that must exist, the Prometheus Operator's kinds present
// and absent, and secret settings (cache keys, registry credentials) that
// never reach ConfigMaps, outputs, logs or the state in clear.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// existingNamespace creates a namespace the fleet then uses without creating
// it, with a few objects in it (as External Secrets or an operator would).
func existingNamespace(t *testing.T, name string, objects ...any) {
	t.Helper()
	ctx := context.Background()
	client := kube(t)
	_, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	for _, o := range objects {
		switch o := o.(type) {
		case *corev1.Secret:
			_, err = client.CoreV1().Secrets(name).Create(ctx, o, metav1.CreateOptions{})
		case *corev1.ConfigMap:
			_, err = client.CoreV1().ConfigMaps(name).Create(ctx, o, metav1.CreateOptions{})
		case *corev1.PersistentVolumeClaim:
			_, err = client.CoreV1().PersistentVolumeClaims(name).Create(ctx, o, metav1.CreateOptions{})
		}
		require.NoError(t, err)
	}
}

func TestCIExistingObjectsAreMounted(t *testing.T) {
	t.Parallel()
	const name = "ci-mounts"
	managers, jobs := "ci-mounts-runners", "ci-mounts-jobs"
	caBundle := testCABundle(t)
	existingNamespace(t, managers,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cache-keys"}, StringData: map[string]string{"accesskey": "AKIA-e2e", "secretkey": "e2e-secret-key"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "gitlab-ca"}, StringData: map[string]string{"ca.crt": caBundle}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "mirror-pull"}, Type: corev1.SecretTypeDockerConfigJson,
			StringData: map[string]string{".dockerconfigjson": `{"auths":{"mirror.example.com":{"auth":"eDp5"}}}`}})
	existingNamespace(t, jobs,
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "maven-settings"}, Data: map[string]string{"settings.xml": "<settings/>"}},
		&corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "gradle-cache"}, Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: mustQuantity("1Gi")}}}})
	f := groupFleet(name, 44)
	f["namespace"], f["createNamespace"], f["jobNamespace"], f["createJobNamespace"] = managers, false, jobs, false
	f["cache"] = map[string]any{"type": "s3", "existingSecret": "cache-keys", "s3": map[string]any{"serverAddress": "minio.example.com:9000", "bucketName": "ci"}}
	f["gitlabCA"] = map[string]any{"secret": map[string]any{"name": "gitlab-ca"}}
	f["manager"].(map[string]any)["imagePullSecrets"] = []string{"mirror-pull"}
	f["executor"] = map[string]any{"volumes": []any{
		map[string]any{"configMap": "maven-settings", "mountPath": "/etc/maven", "readOnly": true},
		map[string]any{"pvc": "gradle-cache", "mountPath": "/cache/gradle"},
	}}
	s := newStack(t, name, f)
	s.up(t)
	waitReady(t, managers, name)

	// The manager pods, as the API server stored them, read the existing
	// Secrets: the cache keys as environment, the CA bundle as a file.
	pods, err := kube(t).CoreV1().Pods(managers).List(context.Background(), metav1.ListOptions{LabelSelector: managerSelector(name)})
	require.NoError(t, err)
	require.Len(t, pods.Items, 2)
	pod := pods.Items[0]
	env := map[string]*corev1.EnvVarSource{}
	for _, e := range pod.Spec.Containers[0].Env {
		env[e.Name] = e.ValueFrom
	}
	require.NotNil(t, env["CACHE_S3_ACCESS_KEY"])
	assert.Equal(t, "cache-keys", env["CACHE_S3_ACCESS_KEY"].SecretKeyRef.Name)
	assert.Equal(t, "accesskey", env["CACHE_S3_ACCESS_KEY"].SecretKeyRef.Key)
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		volumes[v.Name] = v
	}
	assert.Equal(t, "gitlab-ca", volumes["gitlab-ca"].Secret.SecretName)
	assert.Equal(t, []corev1.LocalObjectReference{{Name: "mirror-pull"}}, pod.Spec.ImagePullSecrets)
	template := runnerTemplate(t, managers, name)
	assert.NotContains(t, template, "e2e-secret-key", "the keys stay out of the ConfigMap")
	assert.Contains(t, template, `tls-ca-file = "/etc/gitlab-runner-ca/ca.crt"`)

	// The job pods the runner would build mount the ConfigMap and the PVC,
	// and the API server admits them as the manager creates them.
	jobPod, jobNamespace := jobPodOf(t, managers, name)
	require.Equal(t, jobs, jobNamespace)
	waitDefaultServiceAccount(t, jobs)
	created, err := kubeAs(t, managers, name).CoreV1().Pods(jobs).Create(context.Background(), jobPod, dryRun)
	require.NoError(t, err)
	claims := map[string]bool{}
	for _, v := range created.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			claims[v.PersistentVolumeClaim.ClaimName] = true
		}
	}
	assert.True(t, claims["gradle-cache"])
}

func TestCIMissingObjectsFailBeforeAnythingIsCreated(t *testing.T) {
	t.Parallel()
	const name = "ci-missing"
	jobs := "ci-missing-jobs"
	existingNamespace(t, jobs)
	f := groupFleet(name, 45)
	f["jobNamespace"], f["createJobNamespace"] = jobs, false
	f["executor"] = map[string]any{"volumes": []any{map[string]any{"pvc": "no-such-claim", "mountPath": "/cache"}}}
	s := newStack(t, name, f)
	_, err := s.stack.Up(context.Background(), optup.ProgressStreams(&s.log))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "fleets[0] (ci-missing).executor.volumes[0].pvc: names PersistentVolumeClaim ci-missing-jobs/no-such-claim, which does not exist")
	assert.Empty(t, faultRunners(t, faultDescription(s, name)), "no runner in GitLab")
	out, _ := h.kubectl(t, "get", "namespace", "gitlab-runner-"+name)
	assert.Contains(t, out, "NotFound", "nothing in Kubernetes")
}

// podMonitorCRD is a minimal PodMonitor CRD, as the Prometheus Operator installs it.
const podMonitorCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: podmonitors.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {kind: PodMonitor, listKind: PodMonitorList, plural: podmonitors, singular: podmonitor}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
`

func TestCIPodMonitorWithAndWithoutTheCRD(t *testing.T) {
	const name = "ci-monitor"
	f := groupFleet(name, 46)
	f["network"] = map[string]any{"metricsFrom": []string{"monitoring"}}
	f["manager"].(map[string]any)["monitoring"] = map[string]any{"kind": "PodMonitor", "labels": map[string]string{"release": "prometheus"}}
	s := newStack(t, name, f)
	_, err := s.stack.Up(context.Background(), optup.ProgressStreams(&s.log))
	require.Error(t, err, "no Prometheus Operator in the cluster")
	assert.Contains(t, err.Error(), "fleets[0] (ci-monitor).manager.monitoring.kind: asks for a PodMonitor, but the cluster does not serve monitoring.coreos.com/v1 PodMonitor")

	crd := filepath.Join(t.TempDir(), "crd.yaml")
	require.NoError(t, os.WriteFile(crd, []byte(podMonitorCRD), 0o644))
	h.mustKubectl(t, "apply", "-f", crd)
	t.Cleanup(func() { _, _ = h.kubectl(t, "delete", "-f", crd) })
	h.mustKubectl(t, "wait", "--for=condition=Established", "crd/podmonitors.monitoring.coreos.com", "--timeout=2m")
	s.up(t)
	monitor := h.mustKubectl(t, "get", "podmonitors", "-n", "gitlab-runner-"+name, name+"-managers", "-o", "json")
	var m struct {
		Metadata struct {
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
		} `json:"spec"`
	}
	require.NoError(t, json.Unmarshal([]byte(monitor), &m))
	assert.Equal(t, "prometheus", m.Metadata.Labels["release"])
	assert.Equal(t, name, m.Spec.Selector.MatchLabels["app.kubernetes.io/instance"])
}

func TestCISecretSettingsStayEncrypted(t *testing.T) {
	t.Parallel()
	const name = "ci-secrets"
	f := groupFleet(name, 47)
	f["cache"] = map[string]any{"type": "s3", "s3": map[string]any{"bucketName": "ci",
		"accessKeyConfigKey": "cacheAccessKey", "secretKeyConfigKey": "cacheSecretKey"}}
	f["executor"] = map[string]any{"registryCredentialsConfigKey": "jobsRegistry"}
	s := newStack(t, name, f)
	ctx := context.Background()
	const key, dockerConfig = "Sup3r-S3cret-Cache-Key", `{"auths":{"registry.example.com":{"auth":"cmVnaXN0cnktcGFzcw=="}}}`
	for k, v := range map[string]string{"cacheAccessKey": "AKIA-ci-secrets", "cacheSecretKey": key, "jobsRegistry": dockerConfig} {
		require.NoError(t, s.stack.SetConfig(ctx, "gitlab-runner-fleet:"+k, auto.ConfigValue{Value: v, Secret: true}))
	}
	s.up(t)
	managers, jobs := "gitlab-runner-"+name, "gitlab-runner-"+name+"-jobs"
	for _, ns := range []string{managers, jobs} {
		configMaps := h.mustKubectl(t, "get", "configmaps", "-n", ns, "-o", "json")
		assert.NotContains(t, configMaps, key)
		assert.NotContains(t, configMaps, "cmVnaXN0cnktcGFzcw==")
	}
	outputs, err := json.Marshal(s.outputs(t))
	require.NoError(t, err)
	for _, secret := range []string{key, "cmVnaXN0cnktcGFzcw=="} {
		assert.NotContains(t, string(outputs), secret)
		assert.NotContains(t, s.log.String(), secret)
		state, err := json.Marshal(deployment(t, s))
		require.NoError(t, err)
		assert.NotContains(t, string(state), secret, "in the state only encrypted")
	}
	assert.NotContains(t, string(mustRead(t, filepath.Join(s.dir, "Pulumi."+name+".yaml"))), key, "the stack file holds it encrypted")
	// The Secrets the fleet made hold them, for the manager and for job pods.
	cache := fleetObjects(t, "secrets", managers, name)
	found := false
	for _, o := range cache {
		found = found || strings.HasPrefix(o.Metadata.Name, name+"-cache-")
	}
	assert.True(t, found, "the cache Secret")
	pull := h.mustKubectl(t, "get", "secret", name+"-registry", "-n", jobs, "-o", "jsonpath={.type}")
	assert.Equal(t, "kubernetes.io/dockerconfigjson", pull)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return data
}

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }

// testCABundle is a freshly made self-signed CA certificate, PEM encoded.
func testCABundle(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	template := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "e2e GitLab CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

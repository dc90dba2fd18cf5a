package podrunner

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// fakeSources serves objects from maps.
type fakeSources struct {
	secrets    map[string]*corev1.Secret
	configMaps map[string]*corev1.ConfigMap
	svcs       map[string][]corev1.Service
	alloc      corev1.ResourceList
}

func (f fakeSources) secret(_ context.Context, _, name string) (*corev1.Secret, error) {
	if s, ok := f.secrets[name]; ok {
		return s, nil
	}
	return nil, apierrors.NewNotFound(corev1.Resource("secrets"), name)
}

func (f fakeSources) configMap(_ context.Context, _, name string) (*corev1.ConfigMap, error) {
	if c, ok := f.configMaps[name]; ok {
		return c, nil
	}
	return nil, apierrors.NewNotFound(corev1.Resource("configmaps"), name)
}

func (f fakeSources) services(_ context.Context, ns string) ([]corev1.Service, error) {
	return f.svcs[ns], nil
}

func (f fakeSources) allocatable(context.Context, string) (corev1.ResourceList, error) {
	return f.alloc, nil
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "a", "B": "b"}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	for in, want := range map[string]string{
		"$(A)-$(B)":   "a-b",
		"$(MISSING)":  "$(MISSING)",
		"$$(A)":       "$(A)",
		"$$":          "$",
		"cost $5":     "cost $5",
		"$(A":         "$(A",
		"tail$":       "tail$",
		"x$(A)y$(A)z": "xayaz",
	} {
		assert.Equal(t, want, expand(in, lookup), in)
	}
}

func TestContainerEnv(t *testing.T) {
	src := fakeSources{
		secrets: map[string]*corev1.Secret{"s": {Data: map[string][]byte{"token": []byte("t0k3n"), "BAD KEY=": []byte("x")}}},
		configMaps: map[string]*corev1.ConfigMap{
			"cm":  {Data: map[string]string{"url": "http://gitlab", "A": "from-cm"}},
			"all": {Data: map[string]string{"ONE": "1", "TWO": "2"}},
		},
		svcs: map[string][]corev1.Service{
			"ns": {
				{ObjectMeta: metav1.ObjectMeta{Name: "metrics-svc"}, Spec: corev1.ServiceSpec{ClusterIP: "10.0.0.9", Ports: []corev1.ServicePort{{Name: "http", Port: 9252, Protocol: corev1.ProtocolTCP}}}},
				{ObjectMeta: metav1.ObjectMeta{Name: "headless"}, Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: []corev1.ServicePort{{Port: 1}}}},
			},
			"default": {{ObjectMeta: metav1.ObjectMeta{Name: "kubernetes"}, Spec: corev1.ServiceSpec{ClusterIP: "10.0.0.1", Ports: []corev1.ServicePort{{Name: "https", Port: 443, Protocol: corev1.ProtocolTCP}}}}},
		},
		alloc: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("256Gi")},
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p-0", Namespace: "ns", UID: "u1", Labels: map[string]string{"app": "x"}},
		Spec:       corev1.PodSpec{NodeName: "n", ServiceAccountName: "sa"},
		Status:     corev1.PodStatus{PodIP: "10.244.128.1"},
	}
	c := &corev1.Container{
		Name: "c",
		EnvFrom: []corev1.EnvFromSource{
			{Prefix: "CM_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "all"}}},
			{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}}},
			{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}, Optional: ptr.To(true)}},
		},
		Env: []corev1.EnvVar{
			{Name: "PLAIN", Value: "v"},
			{Name: "EXPANDED", Value: "$(PLAIN)-$(CM_ONE)-$(METRICS_SVC_SERVICE_HOST)-$(LATER)"},
			{Name: "LATER", Value: "l"},
			{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "token"}}},
			{Name: "URL", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}, Key: "url"}}},
			{Name: "OPT", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "nope", Optional: ptr.To(true)}}},
			{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
			{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
			{Name: "MEM", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
			{Name: "CPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}},
		},
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("300Mi")}},
	}
	env, err := containerEnv(context.Background(), src, pod, c)
	require.NoError(t, err)
	for k, want := range map[string]string{
		"PLAIN": "v", "EXPANDED": "v-1-10.0.0.9-$(LATER)", "TOKEN": "t0k3n", "URL": "http://gitlab",
		"CM_ONE": "1", "CM_TWO": "2", "token": "t0k3n",
		"POD_NAME": "p-0", "POD_IP": "10.244.128.1", "APP": "x", "MEM": "300", "CPU": "32",
		"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443",
		"KUBERNETES_PORT": "tcp://10.0.0.1:443", "KUBERNETES_PORT_443_TCP_ADDR": "10.0.0.1",
		"KUBERNETES_SERVICE_PORT_HTTPS": "443",
		"METRICS_SVC_SERVICE_PORT_HTTP": "9252", "METRICS_SVC_PORT_9252_TCP_PROTO": "tcp",
	} {
		assert.Equal(t, want, env[k], k)
	}
	assert.NotContains(t, env, "OPT", "a missing optional key sets nothing")
	assert.NotContains(t, env, "BAD KEY=", "an invalid name from envFrom is skipped")
	assert.NotContains(t, env, "HEADLESS_SERVICE_HOST", "headless Services give no variables")

	t.Run("no service links: only the kubernetes Service", func(t *testing.T) {
		p := pod.DeepCopy()
		p.Spec.EnableServiceLinks = ptr.To(false)
		env, err := containerEnv(context.Background(), src, p, &corev1.Container{Name: "c"})
		require.NoError(t, err)
		assert.Equal(t, "10.0.0.1", env["KUBERNETES_SERVICE_HOST"])
		assert.NotContains(t, env, "METRICS_SVC_SERVICE_HOST")
	})
	t.Run("a missing key is a config error naming it", func(t *testing.T) {
		bad := &corev1.Container{Name: "c", Env: []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "nope"}}}}}
		_, err := containerEnv(context.Background(), src, pod, bad)
		var ce configError
		require.ErrorAs(t, err, &ce)
		assert.Contains(t, err.Error(), "couldn't find key nope in Secret ns/s")
	})
}

func TestDownwardValues(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"b": "2", "a": `q"1`}}}
	v, err := podFieldValue(pod, "metadata.labels")
	require.NoError(t, err)
	assert.Equal(t, "a=\"q\\\"1\"\nb=\"2\"", v)
	_, err = podFieldValue(pod, "spec.nope")
	assert.ErrorContains(t, err, "unsupported field path")
	c := &corev1.Container{Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}}}
	v, err = resourceFieldValue(c, &corev1.ResourceFieldSelector{Resource: "requests.cpu", Divisor: resource.MustParse("1m")}, nil)
	require.NoError(t, err)
	assert.Equal(t, "250", v)
	v, err = resourceFieldValue(c, &corev1.ResourceFieldSelector{Resource: "requests.cpu"}, nil)
	require.NoError(t, err)
	assert.Equal(t, "1", v, "rounded up, as the kubelet does")
}

func TestContainerIdentityRefusesRoot(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{
		RunAsUser: ptr.To[int64](100), RunAsGroup: ptr.To[int64](65533), FSGroup: ptr.To[int64](65533), SupplementalGroups: []int64{7},
	}}}
	c := &corev1.Container{Name: "c", SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false)}}
	id, err := containerIdentity(pod, c)
	require.NoError(t, err)
	assert.Equal(t, identity{UID: 100, GID: 65533, Groups: []uint32{65533, 7}, NoNewPrivs: true}, id)

	root := &corev1.Container{Name: "c", SecurityContext: &corev1.SecurityContext{RunAsUser: ptr.To[int64](0)}}
	_, err = containerIdentity(pod, root)
	assert.ErrorContains(t, err, "refuses uid 0; set securityContext.runAsUser")
	_, err = containerIdentity(&corev1.Pod{}, &corev1.Container{Name: "c"})
	assert.ErrorContains(t, err, "would run as root")
	priv := &corev1.Container{Name: "c", SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}}
	_, err = containerIdentity(pod, priv)
	assert.ErrorContains(t, err, "privileged")
	noGroup := &corev1.Pod{Spec: corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](5)}}}
	_, err = containerIdentity(noGroup, &corev1.Container{Name: "c"})
	assert.ErrorContains(t, err, "set securityContext.runAsGroup")
}

//go:build e2e

package e2e

// Containment, against the real API server with the fleet's exact objects:
// what a compromised manager's ServiceAccount may still do in its job
// namespace (a dry-run matrix through RBAC and admission), the job pods'
// missing API token, the quota, and the NetworkPolicies as objects. The local
// cluster has no network plugin: it stores NetworkPolicies but enforces no
// traffic rule, so their selectors and rules are checked as objects here; a
// real cluster's plugin enforces them.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var dryRun = metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}

// containmentFleet deploys one fleet for these tests; edit changes its
// stack before the first `up`.
func containmentFleet(t *testing.T, name string, groupID int, edit ...func(*testStack)) (managers, jobs string) {
	t.Helper()
	f := groupFleet(name, groupID)
	f["network"] = map[string]any{"metricsFrom": []string{"monitoring"}}
	s := newStack(t, name, f)
	for _, e := range edit {
		e(s)
	}
	s.up(t)
	return "gitlab-runner-" + name, "gitlab-runner-" + name + "-jobs"
}

// refusedByPolicy waits (the API server compiles a new admission policy
// within seconds) until create is refused, and returns the refusal.
func refusedByPolicy(t *testing.T, create func() error) error {
	t.Helper()
	var err error
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if err = create(); err != nil {
			return err
		}
	}
	return err
}

func TestContainmentManagerRequestsMatrix(t *testing.T) {
	t.Parallel()
	const name = "contain-admission"
	managers, jobs := containmentFleet(t, name, 41)
	ctx := context.Background()
	manager := kubeAs(t, managers, name)
	sa := "system:serviceaccount:" + managers + ":" + name

	// RBAC lets the manager create Secrets, pods and Services there: what
	// follows is refused by the admission policy, not by RBAC.
	for _, resource := range []string{"secrets", "pods", "services"} {
		require.True(t, canI(t, sa, "create", resource, jobs), "RBAC allows creating %s", resource)
	}
	other := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "deployer", Namespace: jobs}}
	_, err := kube(t).CoreV1().ServiceAccounts(jobs).Create(ctx, other, metav1.CreateOptions{})
	require.NoError(t, err)
	waitDefaultServiceAccount(t, jobs)

	t.Run("ServiceAccount token Secret refused", func(t *testing.T) {
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "minted", Namespace: jobs,
			Annotations: map[string]string{corev1.ServiceAccountNameKey: "deployer"}}, Type: corev1.SecretTypeServiceAccountToken}
		err := refusedByPolicy(t, func() error { _, err := manager.CoreV1().Secrets(jobs).Create(ctx, secret, dryRun); return err })
		require.Error(t, err)
		assert.True(t, apierrors.IsForbidden(err) || apierrors.IsInvalid(err), "%v", err)
		assert.Contains(t, err.Error(), "may not create ServiceAccount token Secrets")
		_, err = kube(t).CoreV1().Secrets(jobs).Create(ctx, secret, dryRun)
		assert.NoError(t, err, "the policy binds the manager only: the administrator is not affected")
	})
	t.Run("job Secret allowed", func(t *testing.T) {
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "runner-abc-job-variables", Namespace: jobs}, Type: corev1.SecretTypeOpaque,
			StringData: map[string]string{"CI_JOB_TOKEN": "x"}}
		_, err := manager.CoreV1().Secrets(jobs).Create(ctx, secret, dryRun)
		assert.NoError(t, err)
	})
	t.Run("pod as another ServiceAccount refused", func(t *testing.T) {
		pod, _ := jobPodOf(t, managers, name)
		pod.Spec.ServiceAccountName = "deployer"
		err := refusedByPolicy(t, func() error { _, err := manager.CoreV1().Pods(jobs).Create(ctx, pod, dryRun); return err })
		require.Error(t, err)
		assert.Contains(t, err.Error(), `job pods run as the ServiceAccount "default" only`)
	})
	t.Run("the runner's job pod allowed, without an API token", func(t *testing.T) {
		pod, _ := jobPodOf(t, managers, name)
		created, err := manager.CoreV1().Pods(jobs).Create(ctx, pod, dryRun)
		require.NoError(t, err)
		for _, v := range created.Spec.Volumes {
			assert.Nil(t, v.Projected, "no ServiceAccount token volume (%s)", v.Name)
		}
		def, err := kube(t).CoreV1().ServiceAccounts(jobs).Get(ctx, "default", metav1.GetOptions{})
		require.NoError(t, err)
		require.NotNil(t, def.AutomountServiceAccountToken)
		assert.False(t, *def.AutomountServiceAccountToken, "the job namespace's default ServiceAccount mounts no token either")
	})
	services := map[string]corev1.ServiceSpec{
		"LoadBalancer": {Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}}},
		"NodePort":     {Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80}}},
		"externalIPs":  {Type: corev1.ServiceTypeClusterIP, Ports: []corev1.ServicePort{{Port: 80}}, ExternalIPs: []string{"203.0.113.9"}},
	}
	for kind, spec := range services {
		t.Run(kind+" Service refused", func(t *testing.T) {
			svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "intercept", Namespace: jobs}, Spec: spec}
			err := refusedByPolicy(t, func() error { _, err := manager.CoreV1().Services(jobs).Create(ctx, svc, dryRun); return err })
			require.Error(t, err)
			assert.Contains(t, err.Error(), "may create ClusterIP Services without externalIPs only")
		})
	}
	t.Run("ClusterIP Service allowed", func(t *testing.T) {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "proxy-svc-0", Namespace: jobs},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}, Selector: map[string]string{"job.runner.gitlab.com/pod": "x"}}}
		_, err := manager.CoreV1().Services(jobs).Create(ctx, svc, dryRun)
		assert.NoError(t, err)
	})
}

func TestContainmentQuotaCapsTheJobNamespace(t *testing.T) {
	t.Parallel()
	const name = "contain-quota"
	managers, jobs := containmentFleet(t, name, 42)
	ctx := context.Background()
	quota, err := kube(t).CoreV1().ResourceQuotas(jobs).Get(ctx, "gitlab-runner-jobs", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, resource.MustParse("20"), quota.Spec.Hard[corev1.ResourcePods], "2 managers × 10 jobs")

	manager := kubeAs(t, managers, name)
	pod, _ := jobPodOf(t, managers, name)
	_, err = manager.CoreV1().Pods(jobs).Create(ctx, pod, dryRun)
	require.NoError(t, err, "a job pod fits")
	greedy := pod.DeepCopy()
	greedy.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory] = resource.MustParse("1Ti")
	_, err = manager.CoreV1().Pods(jobs).Create(ctx, greedy, dryRun)
	require.Error(t, err, "a pod beyond the namespace's memory quota")
	assert.Contains(t, err.Error(), "exceeded quota")

	bare := pod.DeepCopy()
	for i := range bare.Spec.Containers {
		bare.Spec.Containers[i].Resources = corev1.ResourceRequirements{}
	}
	created, err := manager.CoreV1().Pods(jobs).Create(ctx, bare, dryRun)
	require.NoError(t, err, "a container without limits gets the LimitRange's")
	assert.Equal(t, resource.MustParse("256Mi"), created.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory])
}

func TestContainmentNetworkPoliciesAsObjects(t *testing.T) {
	const name = "contain-net"
	ctx := context.Background()
	client := kube(t)
	// The local API server listens on loopback, which an EndpointSlice cannot
	// hold, so it publishes none; publish one as a real cluster's API server
	// does, and let the program read it (no apiServer setting).
	api := []string{"10.20.30.40/32"}
	port := int32(6443)
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "kubernetes", Namespace: "default", Labels: map[string]string{discoveryv1.LabelServiceName: "kubernetes"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.20.30.40"}}},
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("https"), Port: &port, Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	_, err := client.DiscoveryV1().EndpointSlices("default").Create(ctx, slice, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = client.DiscoveryV1().EndpointSlices("default").Delete(context.Background(), "kubernetes", metav1.DeleteOptions{})
	})
	managers, jobs := containmentFleet(t, name, 43, func(s *testStack) { s.setConfig(t, "gitlab-runner-fleet:apiServer", nil) })

	jobPolicy, err := client.NetworkingV1().NetworkPolicies(jobs).Get(ctx, "gitlab-runner-jobs", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Empty(t, jobPolicy.Spec.PodSelector.MatchLabels, "every pod of the job namespace")
	assert.ElementsMatch(t, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}, jobPolicy.Spec.PolicyTypes)
	assert.Empty(t, jobPolicy.Spec.Ingress, "no ingress")
	require.Len(t, jobPolicy.Spec.Egress, 3, "other namespaces, addresses, DNS")
	closed := jobPolicy.Spec.Egress[0].To[0].NamespaceSelector.MatchExpressions[0]
	assert.Equal(t, metav1.LabelSelectorOpNotIn, closed.Operator)
	assert.Contains(t, closed.Values, managers, "jobs do not reach the managers' namespace")
	assert.Contains(t, closed.Values, jobs, "nor other jobs")
	except := strings.Join(jobPolicy.Spec.Egress[1].To[0].IPBlock.Except, " ")
	assert.Contains(t, except, "169.254.0.0/16", "nor the metadata services")
	for _, a := range api {
		assert.Contains(t, except, a, "nor the API server, at the address the cluster reports")
	}

	managerPolicy, err := client.NetworkingV1().NetworkPolicies(managers).Get(ctx, name+"-manager", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, name, managerPolicy.Spec.PodSelector.MatchLabels["app.kubernetes.io/instance"])
	require.Len(t, managerPolicy.Spec.Ingress, 1)
	assert.Equal(t, []string{"monitoring"}, managerPolicy.Spec.Ingress[0].From[0].NamespaceSelector.MatchExpressions[0].Values)
	assert.Equal(t, int32(9252), managerPolicy.Spec.Ingress[0].Ports[0].Port.IntVal, "only the metrics port, only from monitoring")
	require.Len(t, managerPolicy.Spec.Egress, 4, "DNS, the API server, the kubernetes Service, GitLab")
	var apiTo []string
	for _, peer := range managerPolicy.Spec.Egress[1].To {
		apiTo = append(apiTo, peer.IPBlock.CIDR)
	}
	assert.ElementsMatch(t, api, apiTo)
	assert.Equal(t, int32(6443), managerPolicy.Spec.Egress[1].Ports[0].Port.IntVal, "on the port it reports")
}

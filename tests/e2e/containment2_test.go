//go:build e2e

package e2e

// Containment, second pass (issue 17): what a compromised manager can do
// through the fields it controls, tried through the real API server with a
// real token of the manager's ServiceAccount (the TokenRequest API, as
// `kubectl create token` gets one; not impersonation), against the stack
// as deployed. Each subtest is one fence; each asks the API server.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// managerToken is a client that holds a token of the ServiceAccount,
// issued by the API server's TokenRequest API, and nothing else of the
// administrator's credentials.
func managerToken(t *testing.T, namespace, serviceAccount string) kubernetes.Interface {
	t.Helper()
	request := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}
	issued, err := kube(t).CoreV1().ServiceAccounts(namespace).CreateToken(context.Background(), serviceAccount, request, metav1.CreateOptions{})
	require.NoError(t, err)
	config := rest.AnonymousClientConfig(restConfig(t))
	config.BearerToken = issued.Status.Token
	client, err := kubernetes.NewForConfig(config)
	require.NoError(t, err)
	review, err := client.AuthenticationV1().SelfSubjectReviews().Create(context.Background(), &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	require.NoError(t, err)
	require.Equal(t, "system:serviceaccount:"+namespace+":"+serviceAccount, review.Status.UserInfo.Username, "the API server knows the token as the manager")
	return client
}

// refused expects the API server to refuse a request with a message; the
// request is retried while the admission policies are being compiled.
func refused(t *testing.T, want string, create func() error) {
	t.Helper()
	err := refusedByPolicy(t, create)
	require.Error(t, err, "refused: %s", want)
	assert.True(t, apierrors.IsForbidden(err) || apierrors.IsInvalid(err), "%v", err)
	assert.Contains(t, err.Error(), want)
}

const (
	c2Jobs = "c2-jobs" // a group fleet with the defaults, one job at a time
	c2SA   = "c2-sa"   // a fleet whose jobs run as a ServiceAccount of their own, on a pool of their own
)

func TestContainment2ThroughTheManagersToken(t *testing.T) {
	t.Parallel()
	jobsFleet := groupFleet(c2Jobs, 51)
	jobsFleet["manager"] = map[string]any{"replicas": 1, "concurrent": 1}
	jobsFleet["executor"] = map[string]any{"registryCredentialsConfigKey": "c2Registry"}
	saFleet := groupFleet(c2SA, 52)
	saFleet["executor"] = map[string]any{"serviceAccount": "ci-jobs", "serviceAccountAnnotations": map[string]string{"example.com/role": "ci"},
		"nodeSelector": map[string]string{"pool": "ci"}, "tolerations": []map[string]string{{"key": "ci", "operator": "Exists", "effect": "NoSchedule"}}}
	saFleet["network"] = map[string]any{"nodeLocalDns": "169.254.20.10"}
	// Two jobs at once, each with a configured ephemeral volume of 1Gi.
	saFleet["manager"] = map[string]any{"replicas": 1, "concurrent": 2}
	saFleet["executor"].(map[string]any)["podSpecPatches"] = []map[string]string{{"name": "scratch",
		"patch": `{"volumes":[{"name":"scratch","ephemeral":{"volumeClaimTemplate":{"spec":{"accessModes":["ReadWriteOnce"],"storageClassName":"fast","resources":{"requests":{"storage":"1Gi"}}}}}}],` +
			`"containers":[{"name":"build","volumeMounts":[{"name":"scratch","mountPath":"/scratch"}]}]}`}}
	s := newStack(t, "containment2", jobsFleet, saFleet)
	require.NoError(t, s.stack.SetConfig(context.Background(), "gitlab-runner-fleet:c2Registry",
		auto.ConfigValue{Value: `{"auths":{"registry.example.com":{"auth":"YzI6cGFzcw=="}}}`, Secret: true}))
	s.up(t)
	ctx := context.Background()
	managers, jobs := "gitlab-runner-"+c2Jobs, "gitlab-runner-"+c2Jobs+"-jobs"
	saManagers, saJobs := "gitlab-runner-"+c2SA, "gitlab-runner-"+c2SA+"-jobs"
	waitDefaultServiceAccount(t, jobs)
	manager := managerToken(t, managers, c2Jobs)
	saManager := managerToken(t, saManagers, c2SA)
	pod, _ := jobPodOf(t, managers, c2Jobs)
	require.NotEmpty(t, pod.Spec.InitContainers, "the runner's pod has an init container")
	createPod := func(client kubernetes.Interface, namespace string, p *corev1.Pod) func() error {
		return func() error { _, err := client.CoreV1().Pods(namespace).Create(ctx, p, dryRun); return err }
	}
	variant := func(change func(p *corev1.Pod)) *corev1.Pod {
		p := pod.DeepCopy()
		change(p)
		return p
	}

	t.Run("1 tokens through pod fields", func(t *testing.T) {
		refused(t, "job pods mount no ServiceAccount token", createPod(manager, jobs, variant(func(p *corev1.Pod) {
			p.Spec.AutomountServiceAccountToken = ptr.To(true)
		})))
		refused(t, "job pods may not project a ServiceAccount token", createPod(manager, jobs, variant(func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "sts", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: "sts.amazonaws.com", ExpirationSeconds: ptr.To[int64](31536000), Path: "token"}}}}}})
		})))
		created, err := manager.CoreV1().Pods(jobs).Create(ctx, pod, dryRun)
		require.NoError(t, err, "the runner's own pod")
		for _, v := range created.Spec.Volumes {
			assert.Nil(t, v.Projected, "no token volume in %s", v.Name)
		}

		// The fleet whose jobs run as ci-jobs: the runner mounts its token
		// (the API server projects it), and exactly that.
		saPod, _ := jobPodOf(t, saManagers, c2SA)
		require.True(t, *saPod.Spec.AutomountServiceAccountToken)
		waitDefaultServiceAccount(t, saJobs)
		created, err = saManager.CoreV1().Pods(saJobs).Create(ctx, saPod, dryRun)
		require.NoError(t, err, "the runner's pod with its ServiceAccount's token")
		projected := 0
		for _, v := range created.Spec.Volumes {
			if v.Projected != nil {
				projected++
				assert.True(t, strings.HasPrefix(v.Name, "kube-api-access-"), v.Name)
			}
		}
		assert.Equal(t, 1, projected, "the API server's own token volume")
		withAudience := saPod.DeepCopy()
		withAudience.Spec.Volumes = append(withAudience.Spec.Volumes, corev1.Volume{Name: "vault", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: "vault", ExpirationSeconds: ptr.To[int64](600), Path: "token"}}}}}})
		refused(t, "job pods may mount only the API server's own ServiceAccount token", createPod(saManager, saJobs, withAudience))
	})

	t.Run("2 placement and priority", func(t *testing.T) {
		refused(t, "nodeName may not be set", createPod(manager, jobs, variant(func(p *corev1.Pod) { p.Spec.NodeName = "kwok-node-0" })))
		refused(t, "job pods tolerate only the fleet's taints", createPod(manager, jobs, variant(func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
		})))
		refused(t, "job pods have no priority class", createPod(manager, jobs, variant(func(p *corev1.Pod) { p.Spec.PriorityClassName = "system-node-critical" })))
		refused(t, "job pods select no nodes", createPod(manager, jobs, variant(func(p *corev1.Pod) {
			p.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": "kwok-node-0"}
		})))

		saPod, _ := jobPodOf(t, saManagers, c2SA)
		_, err := saManager.CoreV1().Pods(saJobs).Create(ctx, saPod, dryRun)
		require.NoError(t, err, "the pool's own selector and toleration")
		offPool := saPod.DeepCopy()
		offPool.Spec.NodeSelector = nil
		refused(t, "job pods select exactly the fleet's nodes (executor.nodeSelector: pool=ci)", createPod(saManager, saJobs, offPool))
		anyTaint := saPod.DeepCopy()
		anyTaint.Spec.Tolerations = append(anyTaint.Spec.Tolerations, corev1.Toleration{Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists})
		refused(t, "job pods tolerate only the fleet's taints (executor.tolerations: ci:NoSchedule)", createPod(saManager, saJobs, anyTaint))

		// The second layer: the quota at zero for system priority classes
		// refuses such a pod from anyone, the administrator included.
		critical := variant(func(p *corev1.Pod) { p.Spec.PriorityClassName = "system-node-critical" })
		err = retryWhileQuotaUnknown(t, func() error { _, err := kube(t).CoreV1().Pods(jobs).Create(ctx, critical, dryRun); return err })
		require.Error(t, err)
		assert.Contains(t, err.Error(), "exceeded quota: gitlab-runner-jobs-system-priority")
	})

	t.Run("4 and 5 DNS, metadata and API server in the stored policies", func(t *testing.T) {
		service, err := kube(t).CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
		require.NoError(t, err)
		clusterIP := service.Spec.ClusterIP + "/32"
		for _, ns := range []string{jobs, saJobs} {
			policy, err := kube(t).NetworkingV1().NetworkPolicies(ns).Get(ctx, "gitlab-runner-jobs", metav1.GetOptions{})
			require.NoError(t, err)
			checkDNSRules(t, policy, ns == saJobs)
			var excepted []string
			for _, r := range policy.Spec.Egress {
				for _, peer := range r.To {
					if peer.IPBlock != nil && peer.IPBlock.CIDR == "0.0.0.0/0" {
						excepted = peer.IPBlock.Except
					}
				}
			}
			for _, want := range []string{"169.254.0.0/16", "168.63.129.16/32", "100.100.100.200/32", clusterIP, "127.0.0.1/32"} {
				assert.Contains(t, excepted, want, "%s: jobs do not reach %s", ns, want)
			}
		}
		for _, f := range []struct{ ns, name string }{{managers, c2Jobs}, {saManagers, c2SA}} {
			policy, err := kube(t).NetworkingV1().NetworkPolicies(f.ns).Get(ctx, f.name+"-manager", metav1.GetOptions{})
			require.NoError(t, err)
			checkDNSRules(t, policy, f.name == c2SA)
			found := false
			for _, r := range policy.Spec.Egress {
				if len(r.To) == 1 && r.To[0].IPBlock != nil && r.To[0].IPBlock.CIDR == clusterIP {
					found = true
					assert.Equal(t, int32(443), r.Ports[0].Port.IntVal, "the kubernetes Service's port")
				}
			}
			assert.True(t, found, "the managers reach the kubernetes Service (%s), read from the cluster", clusterIP)
		}
	})

	t.Run("6 pull policy on every container", func(t *testing.T) {
		refused(t, "pulls with the fleet's pull policies only (executor.pullPolicy: always)", createPod(manager, jobs, variant(func(p *corev1.Pod) {
			p.Spec.Containers[0].ImagePullPolicy = corev1.PullNever
		})))
		refused(t, "pulls with the fleet's pull policies only", createPod(manager, jobs, variant(func(p *corev1.Pod) {
			p.Spec.InitContainers[0].ImagePullPolicy = corev1.PullIfNotPresent
		})))
		refused(t, "pulls with the fleet's pull policies only", createPod(manager, jobs, variant(func(p *corev1.Pod) {
			p.Spec.Containers[1].ImagePullPolicy = "" // the API server defaults a tagged image to IfNotPresent
		})))
	})

	t.Run("7 the stack's Secrets", func(t *testing.T) {
		registry, err := kube(t).CoreV1().Secrets(jobs).Get(ctx, c2Jobs+"-registry", metav1.GetOptions{})
		require.NoError(t, err, "the stack's registry Secret for jobs")
		replaced := registry.DeepCopy()
		replaced.Data = map[string][]byte{".dockerconfigjson": []byte(`{"auths":{}}`)}
		refused(t, "may not replace or delete the stack's Secrets", func() error {
			_, err := manager.CoreV1().Secrets(jobs).Update(ctx, replaced, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		})
		refused(t, "may not replace or delete the stack's Secrets", func() error {
			return manager.CoreV1().Secrets(jobs).Delete(ctx, registry.Name, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
		})
		// The runner's own Secrets: created, updated (the runner makes the
		// job pod their owner; here an annotation changes instead, since
		// the garbage collector would delete a Secret owned by a pod that
		// does not exist), deleted.
		own := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "runner-own-credentials", Namespace: jobs}, Type: corev1.SecretTypeDockercfg,
			Data: map[string][]byte{corev1.DockerConfigKey: []byte(`{}`)}}
		made, err := retryCreate(t, func() (*corev1.Secret, error) {
			return manager.CoreV1().Secrets(jobs).Create(ctx, own, metav1.CreateOptions{})
		})
		require.NoError(t, err)
		made.Annotations = map[string]string{"example.com/job": "1"}
		_, err = manager.CoreV1().Secrets(jobs).Update(ctx, made, metav1.UpdateOptions{})
		assert.NoError(t, err, "the runner updates its own Secrets")
		assert.NoError(t, manager.CoreV1().Secrets(jobs).Delete(ctx, own.Name, metav1.DeleteOptions{}), "and deletes them")
		labelled := own.DeepCopy()
		labelled.Name, labelled.Labels = "imitation", map[string]string{"app.kubernetes.io/part-of": "gitlab-runner-fleet"}
		refused(t, "may not label a Secret as the stack's", func() error { _, err := manager.CoreV1().Secrets(jobs).Create(ctx, labelled, dryRun); return err })
	})

	t.Run("8 the policies type-check clean", func(t *testing.T) {
		for _, f := range []struct{ jobs, name string }{{jobs, c2Jobs}, {saJobs, c2SA}} {
			for _, resource := range []string{"pods", "secrets", "services"} {
				name := fmt.Sprintf("gitlab-runner-fleet.%s.%s.%s", f.jobs, f.name, resource)
				checked := false
				for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
					policy, err := kube(t).AdmissionregistrationV1().ValidatingAdmissionPolicies().Get(ctx, name, metav1.GetOptions{})
					require.NoError(t, err)
					if policy.Status.ObservedGeneration != policy.Generation {
						continue // not type-checked yet
					}
					checked = true
					if policy.Status.TypeChecking != nil {
						assert.Empty(t, policy.Status.TypeChecking.ExpressionWarnings, "%s type-checks without warnings", name)
					}
					break
				}
				assert.True(t, checked, "the API server type-checked %s", name)
			}
		}
	})

	t.Run("9 the token Secret encrypted at rest", func(t *testing.T) {
		secretName, token := tokenSecret(t, c2Jobs)
		stored := etcdGet(t, "/registry/secrets/"+managers+"/"+secretName)
		assert.True(t, bytes.HasPrefix(stored, []byte("k8s:enc:secretbox:v1:")), "etcd holds the Secret encrypted: %q", stored[:min(len(stored), 30)])
		assert.NotContains(t, string(stored), token)
		assert.NotContains(t, string(stored), strings.TrimPrefix(token, "glrt-"))
		assert.NotContains(t, string(stored), base64.StdEncoding.EncodeToString([]byte(token)))
	})

	// Last: it fills the namespace's quota.
	t.Run("3 quota counts", func(t *testing.T) {
		quota, err := kube(t).CoreV1().ResourceQuotas(jobs).Get(ctx, "gitlab-runner-jobs", metav1.GetOptions{})
		require.NoError(t, err)
		hard := quota.Spec.Hard
		assert.Equal(t, resource.MustParse("11"), hard[corev1.ResourceSecrets], "one job's registry credentials, 10 for the namespace")
		assert.Equal(t, resource.MustParse("3"), hard[corev1.ResourceServices], "one job's proxies")
		assert.Equal(t, resource.MustParse("0"), hard[corev1.ResourceServicesLoadBalancers])
		assert.Equal(t, resource.MustParse("0"), hard[corev1.ResourceServicesNodePorts])
		assert.Equal(t, resource.MustParse("0"), hard[corev1.ResourcePersistentVolumeClaims])
		assert.Equal(t, resource.MustParse("0"), hard[corev1.ResourceRequestsStorage])

		// Services: the manager makes three, the fourth is over the quota.
		for i := range 4 {
			svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("proxy-%d", i), Namespace: jobs},
				Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}, Selector: map[string]string{"job": "x"}}}
			err := retryWhileQuotaUnknown(t, func() error {
				_, err := manager.CoreV1().Services(jobs).Create(ctx, svc, metav1.CreateOptions{})
				return err
			})
			if i < 3 {
				require.NoError(t, err, "service %d", i)
			} else {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "exceeded quota: gitlab-runner-jobs")
			}
		}
		// Secrets: the namespace holds the stack's registry Secret; the
		// manager makes the rest up to 11, then no more.
		var made int
		for made = 0; made < 20; made++ {
			secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("runner-x-%d", made), Namespace: jobs}, Type: corev1.SecretTypeOpaque,
				Data: map[string][]byte{"k": bytes.Repeat([]byte("x"), 1024)}}
			err := retryWhileQuotaUnknown(t, func() error {
				_, err := manager.CoreV1().Secrets(jobs).Create(ctx, secret, metav1.CreateOptions{})
				return err
			})
			if err != nil {
				assert.Contains(t, err.Error(), "exceeded quota: gitlab-runner-jobs")
				break
			}
		}
		assert.Equal(t, 10, made, "11 Secrets in all, the registry Secret among them")

		// Behind the admission policy, the quota refuses load balancers and
		// claims to anyone, and the policy refuses ephemeral volumes.
		lb := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "lb", Namespace: jobs},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}}}}
		_, err = kube(t).CoreV1().Services(jobs).Create(ctx, lb, dryRun)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "exceeded quota")
		claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "big", Namespace: jobs}, Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("100Ti")}}}}
		_, err = kube(t).CoreV1().PersistentVolumeClaims(jobs).Create(ctx, claim, dryRun)
		require.Error(t, err, "the claim a 100Ti ephemeral volume would make")
		assert.Contains(t, err.Error(), "exceeded quota")
		refused(t, "job pods may not have generic ephemeral volumes", createPod(manager, jobs, variant(func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "big", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{
				VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{Spec: claim.Spec}}}})
		})))

		// The fleet configured with an ephemeral volume: its runner's pod
		// has it, no larger one and no other class; its claims and their
		// storage are counted, per storage class.
		saPod, _ := jobPodOf(t, saManagers, c2SA)
		var scratch *corev1.PersistentVolumeClaimSpec
		for i, v := range saPod.Spec.Volumes {
			if v.Name == "scratch" {
				scratch = &saPod.Spec.Volumes[i].Ephemeral.VolumeClaimTemplate.Spec
			}
		}
		require.NotNil(t, scratch, "the runner's pod has the configured ephemeral volume")
		_, err = saManager.CoreV1().Pods(saJobs).Create(ctx, saPod, dryRun)
		require.NoError(t, err, "the runner's pod with its ephemeral volume")
		scratch.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("100Ti")
		refused(t, "job pods have only the fleet's generic ephemeral volumes (executor.podSpecPatches: scratch of at most 1Gi in fast)", createPod(saManager, saJobs, saPod))
		scratch.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("1Gi")
		scratch.StorageClassName = ptr.To("premium")
		refused(t, "job pods have only the fleet's generic ephemeral volumes", createPod(saManager, saJobs, saPod))

		saQuota, err := kube(t).CoreV1().ResourceQuotas(saJobs).Get(ctx, "gitlab-runner-jobs", metav1.GetOptions{})
		require.NoError(t, err)
		for name, want := range map[corev1.ResourceName]string{
			corev1.ResourcePersistentVolumeClaims:                     "2",
			corev1.ResourceRequestsStorage:                            "2Gi",
			"fast.storageclass.storage.k8s.io/requests.storage":       "2Gi",
			"fast.storageclass.storage.k8s.io/persistentvolumeclaims": "2",
		} {
			assert.Equal(t, resource.MustParse(want), saQuota.Spec.Hard[name], "%s", name)
		}
		// The third claim of 1Gi (two jobs' worth are taken) is refused.
		for i := range 3 {
			c := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("job-%d-scratch", i), Namespace: saJobs}, Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: ptr.To("fast"),
				Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
			err := retryWhileQuotaUnknown(t, func() error {
				_, err := kube(t).CoreV1().PersistentVolumeClaims(saJobs).Create(ctx, c, metav1.CreateOptions{})
				return err
			})
			if i < 2 {
				require.NoError(t, err, "claim %d", i)
			} else {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "exceeded quota: gitlab-runner-jobs")
			}
		}
	})
}

// checkDNSRules: every rule that opens port 53 names its destinations (the
// cluster's DNS pods, and the node-local cache where one is set): a rule
// without destinations would reach any DNS server.
func checkDNSRules(t *testing.T, policy *networkingv1.NetworkPolicy, nodeLocal bool) {
	t.Helper()
	dnsRules := 0
	for _, r := range policy.Spec.Egress {
		isDNS := false
		for _, p := range r.Ports {
			if p.Port != nil && p.Port.IntVal == 53 {
				isDNS = true
			}
		}
		if !isDNS {
			continue
		}
		dnsRules++
		require.NotEmpty(t, r.To, "%s/%s: DNS to named destinations only", policy.Namespace, policy.Name)
		assert.Equal(t, map[string]string{"kubernetes.io/metadata.name": "kube-system"}, r.To[0].NamespaceSelector.MatchLabels)
		assert.Equal(t, map[string]string{"k8s-app": "kube-dns"}, r.To[0].PodSelector.MatchLabels)
		if nodeLocal {
			require.Len(t, r.To, 2)
			assert.Equal(t, "169.254.20.10/32", r.To[1].IPBlock.CIDR)
		} else {
			assert.Len(t, r.To, 1)
		}
	}
	assert.Equal(t, 1, dnsRules, "%s/%s has one DNS rule", policy.Namespace, policy.Name)
}

// retryWhileQuotaUnknown retries a request the quota refuses while its
// controller has not counted the namespace yet.
func retryWhileQuotaUnknown(t *testing.T, request func() error) error {
	t.Helper()
	var err error
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		err = request()
		if err == nil || !strings.Contains(err.Error(), "status unknown for quota") {
			return err
		}
	}
	return err
}

func retryCreate(t *testing.T, create func() (*corev1.Secret, error)) (*corev1.Secret, error) {
	t.Helper()
	var (
		s   *corev1.Secret
		err error
	)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if s, err = create(); err == nil {
			return s, nil
		}
	}
	return s, err
}

// etcdGet reads a key straight from the suite cluster's etcd, as etcdctl
// get would, through etcd's JSON gateway to its KV API.
func etcdGet(t *testing.T, key string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(h.clusterDir, "cluster.json"))
	require.NoError(t, err)
	var state struct {
		Ports struct {
			EtcdClient int `json:"etcdClient"`
		} `json:"ports"`
	}
	require.NoError(t, json.Unmarshal(data, &state))
	require.NotZero(t, state.Ports.EtcdClient)
	body, err := json.Marshal(map[string]string{"key": base64.StdEncoding.EncodeToString([]byte(key))})
	require.NoError(t, err)
	resp, err := httpClient.Post(fmt.Sprintf("http://127.0.0.1:%d/v3/kv/range", state.Ports.EtcdClient), "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out struct {
		Kvs []struct {
			Value []byte `json:"value"`
		} `json:"kvs"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.Len(t, out.Kvs, 1, "etcd holds %s", key)
	return out.Kvs[0].Value
}

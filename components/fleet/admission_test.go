package fleet_test

// Every rule, exception and refusal of the fleet's admission policies,
// decided by Kubernetes' own policy code (admission_eval_test.go) on sample
// requests: the pods the runner builds for the fleet, and each change a
// compromised manager would make to them.

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission"

	"github.com/glrf/gitlab-runner-fleet/components/runnerconfig"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

const (
	jobsNS       = "gitlab-runner-builds-jobs"
	buildsSA     = "system:serviceaccount:gitlab-runner-builds:builds"
	privilegedNS = "gitlab-runner-dind-jobs"
	dindSA       = "system:serviceaccount:gitlab-runner-dind:dind"
)

// runnerPod is the job pod the runner builds from the fleet's rendered
// configuration, as the API server has it when admission policies run:
// defaulted (scheduler) and mutated by the DefaultTolerationSeconds plugin,
// and by the ServiceAccount plugin when the pod mounts a token.
func runnerPod(t *testing.T, s settings.FleetSettings) *corev1.Pod {
	t.Helper()
	pod, err := runnerconfig.JobPod(runnerconfig.Runner(s), s.RunnerVersion(), runnerconfig.JobPodOptions{Services: 1})
	require.NoError(t, err)
	pod.Spec.SchedulerName = "default-scheduler"
	if s.Executor.SchedulerName != "" {
		pod.Spec.SchedulerName = s.Executor.SchedulerName
	}
	pod.Spec.PriorityClassName = s.Executor.PriorityClassName
	for _, key := range []string{"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"} {
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists,
			Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr[int64](300)})
	}
	if a := pod.Spec.AutomountServiceAccountToken; a == nil || *a {
		pod.Spec.Volumes = append(pod.Spec.Volumes, apiAccessVolume())
	}
	return pod
}

// apiAccessVolume is the volume the ServiceAccount admission plugin adds to
// a pod that mounts its ServiceAccount's token.
func apiAccessVolume() corev1.Volume {
	return corev1.Volume{Name: "kube-api-access-x7k2p", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{ExpirationSeconds: ptr[int64](3607), Path: "token"}},
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
				Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
		},
	}}}
}

func tokenVolume(audience string, seconds int64) corev1.Volume {
	return corev1.Volume{Name: "minted", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{
			Audience: audience, ExpirationSeconds: ptr(seconds), Path: "token"}}},
	}}}
}

// podCase is a change to the runner's pod and what the API server decides:
// "" admitted, else a part of the refusal.
type podCase struct {
	name    string
	change  func(p *corev1.Pod)
	refusal string
}

func checkPods(t *testing.T, server *apiServer, user, namespace string, base *corev1.Pod, cases []podCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pod := base.DeepCopy()
			c.change(pod)
			err := server.admit(t, request{user: user, operation: admission.Create, namespace: namespace, object: pod})
			if c.refusal == "" {
				assert.NoError(t, err)
			} else {
				require.Error(t, err, "refused")
				assert.Contains(t, err.Error(), c.refusal)
				assert.NotContains(t, err.Error(), "evaluation error", "refused by a rule, not by a failing expression")
			}
		})
	}
}

func TestPodPolicyGroupFleet(t *testing.T) {
	s := groupFleet() // defaults: pull always, no job ServiceAccount, no placement
	m := runFleet(t, false, s, nil)
	server := admissionOf(t, m, jobsNS, "elsewhere")
	pod := runnerPod(t, s)
	require.Equal(t, corev1.PullAlways, pod.Spec.Containers[0].ImagePullPolicy, "the runner pulls with the fleet's policy")
	require.False(t, *pod.Spec.AutomountServiceAccountToken)

	none := func(*corev1.Pod) {}
	checkPods(t, server, buildsSA, jobsNS, pod, []podCase{
		{"the runner's pod", none, ""},
		{"the runner's pod without the API server's tolerations", func(p *corev1.Pod) { p.Spec.Tolerations = nil }, ""},
		{"as another ServiceAccount", func(p *corev1.Pod) { p.Spec.ServiceAccountName = "deployer" }, `job pods run as the ServiceAccount "default" only`},
		{"automountServiceAccountToken true", func(p *corev1.Pod) {
			p.Spec.AutomountServiceAccountToken = ptr(true)
			p.Spec.Volumes = append(p.Spec.Volumes, apiAccessVolume())
		}, "job pods mount no ServiceAccount token"},
		{"the token volume the ServiceAccount plugin projects", func(p *corev1.Pod) { p.Spec.Volumes = append(p.Spec.Volumes, apiAccessVolume()) },
			"job pods may not project a ServiceAccount token"},
		{"a token for a cloud's workload identity, valid a year", func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, tokenVolume("sts.amazonaws.com", 31536000))
		}, "job pods may not project a ServiceAccount token"},
		{"a pod certificate", func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "cert", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{PodCertificate: &corev1.PodCertificateProjection{SignerName: "example.com/signer", KeyType: "ED25519", CredentialBundlePath: "b"}}}}}})
		}, "job pods may not project pod certificates"},
		{"a generic ephemeral volume of 100Ti", func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "big", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{
				VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("100Ti")}}}}}}})
		}, "generic ephemeral volumes"},
		{"nodeName", func(p *corev1.Pod) { p.Spec.NodeName = "manager-node" }, "nodeName may not be set"},
		{"a toleration of every taint", func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Operator: corev1.TolerationOpExists})
		}, "job pods tolerate only the fleet's taints (executor.tolerations: none)"},
		{"a toleration of the control plane", func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})
		}, "tolerate only the fleet's taints"},
		{"the API server's toleration kept forever on NoSchedule", func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})
		}, "tolerate only the fleet's taints"},
		{"a node chosen by selector", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"kubernetes.io/hostname": "manager-node"} },
			"job pods select no nodes"},
		{"another scheduler", func(p *corev1.Pod) { p.Spec.SchedulerName = "my-scheduler" }, "scheduled by default-scheduler only"},
		{"system-node-critical", func(p *corev1.Pod) { p.Spec.PriorityClassName = "system-node-critical" }, "job pods have no priority class"},
		{"imagePullPolicy Never on the build container", func(p *corev1.Pod) { p.Spec.Containers[0].ImagePullPolicy = corev1.PullNever },
			"pulls with the fleet's pull policies only (executor.pullPolicy: always)"},
		{"IfNotPresent on a service container", func(p *corev1.Pod) { p.Spec.Containers[2].ImagePullPolicy = corev1.PullIfNotPresent },
			"pulls with the fleet's pull policies only"},
		{"Never on the init container", func(p *corev1.Pod) { p.Spec.InitContainers[0].ImagePullPolicy = corev1.PullNever },
			"pulls with the fleet's pull policies only"},
	})

	bad := pod.DeepCopy()
	bad.Spec.NodeName, bad.Spec.PriorityClassName, bad.Spec.ServiceAccountName = "n", "system-node-critical", "deployer"
	assert.NoError(t, server.admit(t, request{user: "system:serviceaccount:other:other", operation: admission.Create, namespace: jobsNS, object: bad}),
		"another user is not the policy's concern")
	assert.NoError(t, server.admit(t, request{user: buildsSA, operation: admission.Create, namespace: "elsewhere", object: bad}),
		"another namespace is not the policy's concern (RBAC keeps the manager out)")
	err := server.admit(t, request{user: buildsSA, operation: admission.Update, namespace: jobsNS, object: bad, oldObject: pod})
	assert.ErrorContains(t, err, "nodeName may not be set", "an update is held to the same rules")
}

func TestPodPolicyPrivilegedFleetStaysOnItsPool(t *testing.T) {
	s := settings.FleetSettings{Name: "dind", Runner: settings.RunnerSettings{Type: "instance_type"}, Executor: settings.ExecutorSettings{
		Privileged: true, PodSecurity: "privileged", NodeSelector: map[string]string{"pool": "ci-docker"},
		Tolerations: []settings.Toleration{{Key: "ci-docker", Operator: "Exists", Effect: "NoSchedule"}, {Key: "arch", Operator: "Equal", Value: "arm64", Effect: "NoExecute"}},
	}}.WithDefaults("test")
	m := runFleet(t, false, s, nil)
	server := admissionOf(t, m, privilegedNS)
	pod := runnerPod(t, s)
	checkPods(t, server, dindSA, privilegedNS, pod, []podCase{
		{"the runner's pod", func(*corev1.Pod) {}, ""},
		{"without the pool's selector", func(p *corev1.Pod) { p.Spec.NodeSelector = nil },
			"job pods select exactly the fleet's nodes (executor.nodeSelector: pool=ci-docker)"},
		{"on another pool", func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"pool": "ci-system"} }, "select exactly the fleet's nodes"},
		{"pinned to one node of the pool", func(p *corev1.Pod) { p.Spec.NodeSelector["kubernetes.io/hostname"] = "n1" }, "select exactly the fleet's nodes"},
		{"tolerating the managers' pool", func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "ci-system", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule})
		}, "job pods tolerate only the fleet's taints (executor.tolerations: ci-docker:NoSchedule, arch=arm64:NoExecute)"},
		{"its own toleration for every effect", func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "ci-docker", Operator: corev1.TolerationOpExists})
		}, "tolerate only the fleet's taints"},
		{"its own toleration with another value", func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "arch", Operator: corev1.TolerationOpEqual, Value: "amd64", Effect: corev1.TaintEffectNoExecute})
		}, "tolerate only the fleet's taints"},
		{"its own NoExecute toleration forever, not as configured", func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "arch", Operator: corev1.TolerationOpEqual, Value: "arm64", Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr[int64](1)}}
		}, "tolerate only the fleet's taints"},
	})
}

func TestPodPolicyJobServiceAccountGetsExactlyItsToken(t *testing.T) {
	s := groupFleet()
	s.Executor.ServiceAccount = "ci-jobs"
	s.Executor.Overwrite.ServiceAccounts = []string{"deployer"}
	m := runFleet(t, false, s, nil)
	server := admissionOf(t, m, jobsNS)
	pod := runnerPod(t, s)
	require.True(t, *pod.Spec.AutomountServiceAccountToken, "the runner mounts the configured ServiceAccount's token")
	checkPods(t, server, buildsSA, jobsNS, pod, []podCase{
		{"the runner's pod, with the API server's token volume", func(*corev1.Pod) {}, ""},
		{"as the ServiceAccount jobs may choose", func(p *corev1.Pod) { p.Spec.ServiceAccountName = "deployer" }, ""},
		{"as default", func(p *corev1.Pod) { p.Spec.ServiceAccountName = "" }, `job pods run as the ServiceAccount "ci-jobs" or "deployer" only`},
		{"a token for another audience", func(p *corev1.Pod) { p.Spec.Volumes = append(p.Spec.Volumes, tokenVolume("vault", 600)) },
			"job pods may mount only the API server's own ServiceAccount token"},
		{"an API token valid a year", func(p *corev1.Pod) { p.Spec.Volumes = append(p.Spec.Volumes, tokenVolume("", 31536000)) },
			"job pods may mount only the API server's own ServiceAccount token"},
		{"an API token without expiry", func(p *corev1.Pod) {
			v := tokenVolume("", 1)
			v.Projected.Sources[0].ServiceAccountToken.ExpirationSeconds = nil
			p.Spec.Volumes = append(p.Spec.Volumes, v)
		}, "job pods may mount only the API server's own ServiceAccount token"},
	})
}

func TestPodPolicyFollowsTheFleetsPlacementAndPullSettings(t *testing.T) {
	s := settings.FleetSettings{Name: "builds", Namespace: "gitlab-runner-builds", Runner: settings.RunnerSettings{Type: "project_type", ProjectID: 7},
		Executor: settings.ExecutorSettings{PullPolicy: []string{"if-not-present", "always"}, PriorityClassName: "ci-low", SchedulerName: "batch",
			NodeAffinity: []settings.NodeRequirement{{Key: "kubernetes.io/arch", Operator: "In", Values: []string{"amd64"}}, {Key: "spot", Operator: "DoesNotExist"}}},
	}.WithDefaults("test")
	m := runFleet(t, false, s, nil)
	server := admissionOf(t, m, jobsNS)
	pod := runnerPod(t, s)
	affinity := func(requirements ...corev1.NodeSelectorRequirement) *corev1.Affinity {
		return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: requirements}}}}}
	}
	arch := corev1.NodeSelectorRequirement{Key: "kubernetes.io/arch", Operator: corev1.NodeSelectorOpIn, Values: []string{"amd64"}}
	spot := corev1.NodeSelectorRequirement{Key: "spot", Operator: corev1.NodeSelectorOpDoesNotExist}
	pod.Spec.Affinity = affinity(arch, spot) // as the runner renders [runners.kubernetes.affinity]
	checkPods(t, server, buildsSA, jobsNS, pod, []podCase{
		{"the runner's pod", func(*corev1.Pod) {}, ""},
		{"the second pull policy, as after a failed pull", func(p *corev1.Pod) {
			for i := range p.Spec.Containers {
				p.Spec.Containers[i].ImagePullPolicy = corev1.PullAlways
			}
		}, ""},
		{"Never", func(p *corev1.Pod) { p.Spec.Containers[1].ImagePullPolicy = corev1.PullNever },
			"pulls with the fleet's pull policies only (executor.pullPolicy: if-not-present, always)"},
		{"no priority class", func(p *corev1.Pod) { p.Spec.PriorityClassName = "" }, "job pods have the priority class ci-low only"},
		{"a higher priority class", func(p *corev1.Pod) { p.Spec.PriorityClassName = "system-cluster-critical" }, "priority class ci-low only"},
		{"the default scheduler", func(p *corev1.Pod) { p.Spec.SchedulerName = "default-scheduler" }, "scheduled by batch only"},
		{"without the node affinity", func(p *corev1.Pod) { p.Spec.Affinity = nil }, "keep the fleet's required node affinity"},
		{"with half of it", func(p *corev1.Pod) { p.Spec.Affinity = affinity(arch) }, "keep the fleet's required node affinity"},
		{"with another architecture", func(p *corev1.Pod) {
			other := arch
			other.Values = []string{"arm64"}
			p.Spec.Affinity = affinity(other, spot)
		}, "keep the fleet's required node affinity"},
		{"with an alternative term that drops it", func(p *corev1.Pod) {
			terms := &p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
			*terms = append(*terms, corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "any", Operator: corev1.NodeSelectorOpExists}}})
		}, "keep the fleet's required node affinity"},
		{"narrowed further", func(p *corev1.Pod) {
			terms := p.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
			terms[0].MatchExpressions = append(terms[0].MatchExpressions, corev1.NodeSelectorRequirement{Key: "zone", Operator: corev1.NodeSelectorOpIn, Values: []string{"a"}})
		}, ""},
	})
}

func secret(name string, typ corev1.SecretType, labels map[string]string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: jobsNS, Labels: labels}, Type: typ,
		Data: map[string][]byte{"k": []byte("v")}}
}

func TestSecretPolicy(t *testing.T) {
	m := runFleet(t, false, groupFleet(), nil)
	server := admissionOf(t, m, jobsNS)
	stack := map[string]string{"app.kubernetes.io/part-of": "gitlab-runner-fleet", "app.kubernetes.io/instance": "other-fleet"}
	runnerCredentials := secret("runner-abcdefgh-project-1-concurrent-0-x1", corev1.SecretTypeDockercfg, nil)
	owned := runnerCredentials.DeepCopy()
	owned.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: "runner-abcdefgh-project-1-concurrent-0-xyz", UID: "u"}}
	token := secret("minted", corev1.SecretTypeServiceAccountToken, nil)
	token.Annotations = map[string]string{corev1.ServiceAccountNameKey: "deployer"}
	registry := secret("builds-registry", corev1.SecretTypeDockerConfigJson, stack)
	relabelled := registry.DeepCopy()
	relabelled.Labels = nil

	for _, c := range []struct {
		name      string
		operation admission.Operation
		object    *corev1.Secret
		old       *corev1.Secret
		refusal   string
	}{
		{"the runner creates a job's registry credentials", admission.Create, runnerCredentials, nil, ""},
		{"the runner makes the job pod their owner", admission.Update, owned, runnerCredentials, ""},
		{"the runner deletes them", admission.Delete, nil, owned, ""},
		{"an opaque Secret", admission.Create, secret("vars", corev1.SecretTypeOpaque, nil), nil, ""},
		{"a ServiceAccount token Secret", admission.Create, token, nil, "may not create ServiceAccount token Secrets"},
		{"turning a Secret into a token Secret", admission.Update, token, secret("minted", corev1.SecretTypeOpaque, nil), "may not create ServiceAccount token Secrets"},
		{"replacing the stack's registry Secret", admission.Update, registry, registry, "may not replace or delete the stack's Secrets"},
		{"taking the stack's label off it", admission.Update, relabelled, registry, "may not replace or delete the stack's Secrets"},
		{"deleting it", admission.Delete, nil, registry, "may not replace or delete the stack's Secrets"},
		{"making one that looks like the stack's", admission.Create, registry, nil, "may not label a Secret as the stack's"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := request{user: buildsSA, operation: c.operation, namespace: jobsNS}
			if c.object != nil {
				r.object = c.object
			}
			if c.old != nil {
				r.oldObject = c.old
			}
			err := server.admit(t, r)
			if c.refusal == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.refusal)
			assert.NotContains(t, err.Error(), "evaluation error")
		})
	}
	assert.NoError(t, server.admit(t, request{user: "kubernetes-admin", operation: admission.Delete, namespace: jobsNS, oldObject: registry}),
		"the stack itself (any other user) may")
}

func TestServicePolicy(t *testing.T) {
	m := runFleet(t, false, groupFleet(), nil)
	server := admissionOf(t, m, jobsNS)
	service := func(spec corev1.ServiceSpec) *corev1.Service {
		spec.Ports = []corev1.ServicePort{{Port: 80}}
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "proxy", Namespace: jobsNS}, Spec: spec}
	}
	for _, c := range []struct {
		name    string
		spec    corev1.ServiceSpec
		allowed bool
	}{
		{"the runner's service proxy", corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Selector: map[string]string{"job.runner.gitlab.com/pod": "x"}}, true},
		{"type left to the default", corev1.ServiceSpec{}, true},
		{"headless", corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone}, true},
		{"LoadBalancer", corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}, false},
		{"NodePort", corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort}, false},
		{"ExternalName", corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "gitlab.example.com"}, false},
		{"ClusterIP with externalIPs", corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ExternalIPs: []string{"203.0.113.9"}}, false},
		{"externalIPs on the default type", corev1.ServiceSpec{ExternalIPs: []string{"203.0.113.9"}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := server.admit(t, request{user: buildsSA, operation: admission.Create, namespace: jobsNS, object: service(c.spec)})
			if c.allowed {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, "may create ClusterIP Services without externalIPs only")
			}
		})
	}
}

// Each policy guards one kind, so each expression is checked against the
// schema it reads, and a ConfigMap (which the Role does not grant anyway)
// meets no policy.
func TestAdmissionPoliciesOnePerKind(t *testing.T) {
	m := runFleet(t, false, groupFleet(), nil)
	server := admissionOf(t, m, jobsNS)
	kinds := map[string][]string{}
	for _, p := range server.policies {
		require.Len(t, p.policy.Spec.MatchConstraints.ResourceRules, 1, p.policy.Name)
		rule := p.policy.Spec.MatchConstraints.ResourceRules[0]
		assert.Equal(t, []string{""}, rule.APIGroups, p.policy.Name)
		assert.Equal(t, []string{"v1"}, rule.APIVersions, p.policy.Name)
		require.Len(t, rule.Resources, 1, p.policy.Name)
		var ops []string
		for _, o := range rule.Operations {
			ops = append(ops, string(o))
		}
		kinds[rule.Resources[0]] = ops
		assert.Equal(t, "gitlab-runner-fleet.gitlab-runner-builds-jobs.builds."+rule.Resources[0], p.policy.Name)
	}
	assert.Equal(t, map[string][]string{"pods": {"CREATE", "UPDATE"}, "secrets": {"CREATE", "UPDATE", "DELETE"}, "services": {"CREATE", "UPDATE"}}, kinds)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: jobsNS}}
	assert.NoError(t, server.admit(t, request{user: buildsSA, operation: admission.Create, namespace: jobsNS, object: cm}))
}

func TestPodPolicyAllowsOnlyTheConfiguredEphemeralVolumes(t *testing.T) {
	s := groupFleet()
	s.Executor.PodSpecPatches = []settings.PodSpecPatchSettings{scratchPatch("scratch", "fast", "10Gi"), scratchPatch("tmp", "", "1Gi")}
	m := runFleet(t, false, s, nil)
	server := admissionOf(t, m, jobsNS)
	pod := runnerPod(t, s)
	var names []string
	for _, v := range pod.Spec.Volumes {
		if v.Ephemeral != nil {
			names = append(names, v.Name)
		}
	}
	require.ElementsMatch(t, []string{"scratch", "tmp"}, names, "the runner adds the patches' volumes")
	claim := func(p *corev1.Pod, name string) *corev1.PersistentVolumeClaimSpec {
		for i := range p.Spec.Volumes {
			if p.Spec.Volumes[i].Name == name {
				return &p.Spec.Volumes[i].Ephemeral.VolumeClaimTemplate.Spec
			}
		}
		t.Fatalf("no volume %s", name)
		return nil
	}
	const refusal = "job pods have only the fleet's generic ephemeral volumes (executor.podSpecPatches: "
	big := pod.DeepCopy()
	claim(big, "scratch").Resources.Requests[corev1.ResourceStorage] = resource.MustParse("11Gi")
	err := server.admit(t, request{user: buildsSA, operation: admission.Create, namespace: jobsNS, object: big})
	assert.ErrorContains(t, err, "scratch of at most 10Gi in fast")
	assert.ErrorContains(t, err, "tmp of at most 1Gi in the default class")
	checkPods(t, server, buildsSA, jobsNS, pod, []podCase{
		{"the runner's pod", func(*corev1.Pod) {}, ""},
		{"smaller than configured", func(p *corev1.Pod) {
			claim(p, "scratch").Resources.Requests[corev1.ResourceStorage] = resource.MustParse("5Gi")
		}, ""},
		{"larger than configured", func(p *corev1.Pod) {
			claim(p, "scratch").Resources.Requests[corev1.ResourceStorage] = resource.MustParse("100Ti")
		}, refusal},
		{"1Mi over", func(p *corev1.Pod) {
			claim(p, "tmp").Resources.Requests[corev1.ResourceStorage] = resource.MustParse("1025Mi")
		}, refusal},
		{"without a size", func(p *corev1.Pod) { claim(p, "tmp").Resources.Requests = nil }, refusal},
		{"in another class", func(p *corev1.Pod) { claim(p, "scratch").StorageClassName = ptr("premium") }, refusal},
		{"the default-class volume in a named class", func(p *corev1.Pod) { claim(p, "tmp").StorageClassName = ptr("fast") }, refusal},
		{"another volume", func(p *corev1.Pod) {
			v := corev1.Volume{Name: "more", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{
				VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{Spec: *claim(p, "tmp").DeepCopy()}}}}
			p.Spec.Volumes = append(p.Spec.Volumes, v)
		}, refusal},
	})
}

package fleet_test

import (
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/fleet"
	"github.com/glrf/gitlab-runner-fleet/components/plan"
	"github.com/glrf/gitlab-runner-fleet/components/runnerconfig"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
	"github.com/glrf/gitlab-runner-fleet/tests/mocks"
)

// runFleets registers several fleets, planned together, against mocks.
func runFleets(t *testing.T, fleets ...settings.FleetSettings) *mocks.Mocks {
	t.Helper()
	plans, problems := plan.Plan(fleets)
	require.NoError(t, problems.Err())
	m := &mocks.Mocks{}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		created := map[int]*fleet.RunnerFleet{}
		for i, p := range plans {
			shared := map[string]pulumi.StringInput{}
			for ns, owner := range p.SharedFrom {
				shared[ns] = created[owner].Namespaces[ns]
			}
			f, err := fleet.NewRunnerFleet(ctx, p.Settings.Name, &fleet.RunnerFleetArgs{
				Settings: p.Settings, GitlabURL: "https://gitlab.example.com:8443/", Stack: &fleet.StackPart{CreateNamespaces: p.Create, SharedNamespaces: shared, Jobs: p.Jobs},
				APIServer: testAPIServer,
			})
			if err != nil {
				return err
			}
			created[i] = f
		}
		return nil
	}, pulumi.WithMocks("project", "stack", m))
	require.NoError(t, err)
	return m
}

// Pods of the sample cluster, labelled as the fleet and Kubernetes label them.
var (
	buildsManager = pod("gitlab-runner-builds", map[string]string{"app.kubernetes.io/name": "gitlab-runner", "app.kubernetes.io/instance": "builds"})
	otherManager  = pod("other-runners", map[string]string{"app.kubernetes.io/name": "gitlab-runner", "app.kubernetes.io/instance": "other"})
	buildsJob     = pod("gitlab-runner-builds-jobs", map[string]string{"job.runner.gitlab.com/pod": "runner-a"})
	buildsJob2    = pod("gitlab-runner-builds-jobs", map[string]string{"job.runner.gitlab.com/pod": "runner-b"})
	otherJob      = pod("other-jobs", map[string]string{"job.runner.gitlab.com/pod": "runner-c"})
	appPod        = pod("apps", map[string]string{"app": "web"})
	monitoring    = pod("monitoring", map[string]string{"app": "prometheus"})
	clusterDNS    = pod("kube-system", map[string]string{"k8s-app": "kube-dns"})
	otherSystem   = pod("kube-system", map[string]string{"k8s-app": "metrics-server"})
)

// metadataServices hand out cloud credentials: AWS, GCP, Azure, OpenStack
// (169.254.169.254), GKE after the node's rewrite, EKS Pod Identity, ECS
// task credentials, Azure's WireServer, Alibaba Cloud, AWS over IPv6, and
// IPv6 link-local.
var metadataServices = []string{"169.254.169.254", "169.254.169.252", "169.254.170.23", "169.254.170.2", "168.63.129.16",
	"100.100.100.200", "fd00:ec2::254", "fe80::a9fe:a9fe"}

type flow struct {
	from, to endpoint
	port     int32
	protocol string
	allowed  bool
	why      string
}

func checkFlows(t *testing.T, ps policySet, flows []flow) {
	t.Helper()
	for _, f := range flows {
		protocol := f.protocol
		if protocol == "" {
			protocol = "TCP"
		}
		assert.Equal(t, f.allowed, ps.allows(t, f.from, f.to, f.port, protocol), "%s (%+v -> %+v:%d/%s)", f.why, f.from, f.to, f.port, protocol)
	}
}

func TestJobNetwork(t *testing.T) {
	a, b := groupFleet(), groupFleet()
	b.Name, b.Namespace, b.JobNamespace = "other", "other-runners", "other-jobs"
	ps := policiesOf(t, runFleets(t, a, b))
	require.Len(t, ps, 4, "each fleet's managers, each job namespace")
	flows := []flow{
		{buildsJob, buildsJob2, 8080, "", false, "no job reaches another job"},
		{buildsJob, buildsManager, 9252, "", false, "no job reaches its managers' metrics"},
		{buildsJob, otherManager, 9252, "", false, "nor another fleet's managers"},
		{buildsJob, otherJob, 8080, "", false, "another job namespace is closed by its own policy"},
		{buildsJob, appPod, 8080, "", true, "other namespaces are the cluster's business"},
		{buildsJob, clusterDNS, 53, "UDP", true, "DNS"},
		{buildsJob, clusterDNS, 53, "TCP", true, "DNS over TCP"},
		{buildsJob, address("203.0.113.10"), 443, "", true, "the internet"},
		{buildsJob, address("2001:db8::1"), 443, "", true, "the internet over IPv6"},
		{buildsJob, address("172.18.0.2"), 6443, "", false, "not the API server"},
		{buildsJob, address("172.18.0.2"), 22, "", false, "nor its node on any port"},
		{buildsJob, address("10.96.0.1"), 443, "", false, "nor the kubernetes Service, if a plugin sees the address before translation"},
		{appPod, buildsJob, 8080, "", false, "nothing reaches a job"},
		{buildsManager, buildsJob, 8080, "", false, "nor its manager (which uses the API server's exec)"},
	}
	for _, m := range metadataServices {
		flows = append(flows, flow{buildsJob, address(m), 80, "", false, "no metadata service: " + m})
	}
	checkFlows(t, ps, flows)
}

func TestJobEgressAllowList(t *testing.T) {
	s := groupFleet()
	s.Network.JobEgressCIDRs = []string{"203.0.113.0/24"}
	ps := policiesOf(t, runFleet(t, false, s, nil))
	checkFlows(t, ps, []flow{
		{buildsJob, address("203.0.113.10"), 443, "", true, "the allowed range"},
		{buildsJob, address("198.51.100.1"), 443, "", false, "nothing else"},
		{buildsJob, address("8.8.8.8"), 53, "UDP", false, "DNS to any server is a way out"},
		{buildsJob, clusterDNS, 53, "UDP", true, "the cluster's DNS"},
		{buildsJob, clusterDNS, 8080, "", false, "on the DNS port only"},
		{buildsJob, otherSystem, 53, "UDP", false, "the DNS pods only"},
		{buildsJob, appPod, 8080, "", false, "no other namespace"},
	})
}

func TestNodeLocalDNSAndOtherClusterDNS(t *testing.T) {
	s := groupFleet()
	s.Network.JobEgressCIDRs = []string{"203.0.113.0/24"}
	s.Network.NodeLocalDNS = "169.254.20.10"
	s.Network.ClusterDNS = settings.ClusterDNSSettings{Namespace: "openshift-dns", PodLabels: map[string]string{"dns.operator.openshift.io/daemonset-dns": "default"}}
	ps := policiesOf(t, runFleet(t, false, s, nil))
	openshiftDNS := pod("openshift-dns", map[string]string{"dns.operator.openshift.io/daemonset-dns": "default"})
	for _, from := range []endpoint{buildsJob, buildsManager} {
		checkFlows(t, ps, []flow{
			{from, address("169.254.20.10"), 53, "UDP", true, "the node-local cache"},
			{from, address("169.254.20.10"), 80, "", false, "on the DNS port only"},
			{from, address("169.254.169.254"), 53, "UDP", false, "no other link-local address"},
			{from, openshiftDNS, 53, "UDP", true, "the DNS pods named"},
			{from, clusterDNS, 53, "UDP", false, "not the default ones then"},
		})
	}
	s.Network.JobEgressCIDRs = nil
	ps = policiesOf(t, runFleet(t, false, s, nil))
	checkFlows(t, ps, []flow{
		{buildsJob, address("169.254.20.10"), 53, "UDP", true, "jobs without an allow list reach the node-local cache"},
		{buildsJob, address("169.254.169.254"), 53, "UDP", false, "and still no metadata service"},
	})
}

func TestManagerNetwork(t *testing.T) {
	s := groupFleet()
	s.Network.MetricsFrom = []string{"monitoring"}
	s.Network.GitlabCIDRs = []string{"198.51.100.7/32"}
	ps := policiesOf(t, runFleets(t, s)) // GitLab at https://gitlab.example.com:8443/
	checkFlows(t, ps, []flow{
		{monitoring, buildsManager, 9252, "", true, "metrics from monitoring"},
		{monitoring, buildsManager, 8080, "", false, "on the metrics port only"},
		{appPod, buildsManager, 9252, "", false, "from no other namespace"},
		{buildsJob, buildsManager, 9252, "", false, "not from jobs"},
		{buildsManager, address("172.18.0.2"), 6443, "", true, "the API server"},
		{buildsManager, address("10.96.0.1"), 443, "", true, "the kubernetes Service"},
		{buildsManager, address("172.18.0.2"), 22, "", false, "the API server's port only"},
		{buildsManager, address("10.96.0.1"), 6443, "", false, "the Service's port only"},
		{buildsManager, address("198.51.100.7"), 8443, "", true, "GitLab"},
		{buildsManager, address("198.51.100.8"), 8443, "", false, "at gitlabCidrs only"},
		{buildsManager, clusterDNS, 53, "UDP", true, "the cluster's DNS"},
		{buildsManager, address("8.8.8.8"), 53, "UDP", false, "no other DNS server"},
		{buildsManager, otherSystem, 53, "UDP", false, "no other pod on the DNS port"},
		{buildsManager, appPod, 8080, "", false, "no pod"},
	})

	plain := groupFleet()
	ps = policiesOf(t, runFleet(t, false, plain, nil)) // GitLab at https://gitlab.example.com/
	flows := []flow{
		{monitoring, buildsManager, 9252, "", false, "without metricsFrom nothing reaches the managers"},
		{buildsManager, address("203.0.113.1"), 443, "", true, "GitLab's port anywhere without gitlabCidrs"},
		{buildsManager, address("203.0.113.1"), 22, "", false, "GitLab's port only"},
	}
	for _, m := range metadataServices {
		flows = append(flows, flow{buildsManager, address(m), 443, "", false, "no metadata service on GitLab's port: " + m})
	}
	checkFlows(t, ps, flows)
}

func TestPoliciesOff(t *testing.T) {
	s := groupFleet()
	s.Network.Policies = ptr(false)
	m := runFleet(t, false, s, nil)
	assert.Empty(t, m.OfType(tNetworkPolicy))
	assert.Len(t, m.OfType(tVAP), 3, "the admission policies stay")
}

func TestJobNamespaceQuotaLimitsAndDefaultServiceAccount(t *testing.T) {
	a := groupFleet() // 2 managers × 10 jobs
	b := groupFleet()
	b.Name, b.Namespace = "more", "more-runners"
	b.JobNamespace = a.JobNamespace
	b.Manager.Replicas, b.Manager.Concurrent = ptr(1), 5
	b.Executor.Quota.CPU = "3"
	m := runFleets(t, a, b)
	require.Len(t, m.OfType(tQuota), 2, "one quota and one for system priorities per job namespace")
	hard, _ := mocks.Get(m.Find(tQuota, "builds-jobs").Inputs, "spec", "hard")
	got := map[string]string{}
	for k, v := range hard.ObjectValue() {
		got[string(k)] = v.StringValue()
	}
	assert.Equal(t, map[string]string{
		"pods": "25", // 20 + 5 jobs
		// builds: 20 jobs × (500m + 50m + 2×100m) = 15; more: 3 set by hand.
		"requests.cpu": "18",
		// 25 jobs × (512Mi + 64Mi + 2×128Mi) = 20800Mi
		"requests.memory": "20800Mi",
		// 25 jobs × (2Gi + 256Mi + 2×1Gi) = 106.25Gi
		"limits.memory": "108800Mi",
		// 25 × (1Gi + 128Mi + 2×256Mi) = 41600Mi; 25 × (20Gi + 2Gi + 2×5Gi)
		"requests.ephemeral-storage": "41600Mi",
		"limits.ephemeral-storage":   "800Gi",
		"secrets":                    "35", // a job's registry credentials each, and 10 for the namespace
		"configmaps":                 "10", // the runner creates none
		"services":                   "75", // a proxy for each of 2 services and the build container
		"services.loadbalancers":     "0",
		"services.nodeports":         "0",
		"persistentvolumeclaims":     "0",
		"requests.storage":           "0",
	}, got)

	system := m.Find(tQuota, "builds-jobs-system-priority")
	require.NotNil(t, system)
	var q corev1.ResourceQuota
	decode(t, *system, &q)
	assert.Equal(t, "gitlab-runner-jobs-system-priority", q.Name)
	assert.Equal(t, corev1.ResourceList{corev1.ResourcePods: resource.MustParse("0")}, q.Spec.Hard)
	assert.Equal(t, &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{{
		ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn,
		Values: []string{"system-cluster-critical", "system-node-critical"}}}}, q.Spec.ScopeSelector)

	limits, _ := mocks.Get(m.Find(tLimitRange, "builds-jobs").Inputs, "spec", "limits")
	item := limits.ArrayValue()[0].ObjectValue()
	assert.Equal(t, "Container", item["type"].StringValue())
	assert.Equal(t, "256Mi", item["default"].ObjectValue()["memory"].StringValue())
	_, cpuLimit := item["default"].ObjectValue()["cpu"]
	assert.False(t, cpuLimit, "no CPU limit imposed")

	sa := m.Find(tSAPatch, "builds-jobs-default-sa")
	require.NotNil(t, sa)
	assert.Equal(t, "default", mocks.String(sa.Inputs, "metadata", "name"))
	assert.Equal(t, "gitlab-runner-builds-jobs", mocks.String(sa.Inputs, "metadata", "namespace"))
	assert.False(t, sa.Inputs["automountServiceAccountToken"].BoolValue())
	assert.Nil(t, m.Find(tSAPatch, "more-jobs-default-sa"), "created once per job namespace")
}

func TestQuotaLeavesRoomForTheClaimsJobVolumesName(t *testing.T) {
	s := groupFleet()
	s.Executor.Volumes = []settings.JobVolume{{PVC: "cache", MountPath: "/cache"}, {PVC: "tools", MountPath: "/tools", ReadOnly: true}}
	m := runFleet(t, false, s, nil)
	hard, _ := mocks.Get(m.Find(tQuota, "builds-jobs").Inputs, "spec", "hard")
	assert.Equal(t, "2", hard.ObjectValue()["persistentvolumeclaims"].StringValue())
	_, storage := hard.ObjectValue()["requests.storage"]
	assert.False(t, storage, "the user's claims keep the size the user gives them")
}

func TestPullPolicyDefaultsToAlwaysOnSharedRunners(t *testing.T) {
	for runnerType, want := range map[string][]any{"instance_type": {"always"}, "group_type": {"always"}, "project_type": {"if-not-present"}} {
		r := settings.RunnerSettings{Type: runnerType}
		switch runnerType {
		case "group_type":
			r.GroupID = 1
		case "project_type":
			r.ProjectID = 1
		}
		s := settings.FleetSettings{Name: "b", Runner: r}.WithDefaults("t")
		text, err := runnerconfig.RenderRunnerTemplate(s)
		require.NoError(t, err)
		var template struct {
			Runners []struct {
				Kubernetes map[string]any `toml:"kubernetes"`
			} `toml:"runners"`
		}
		_, err = toml.Decode(text, &template)
		require.NoError(t, err)
		require.Len(t, template.Runners, 1)
		k := template.Runners[0].Kubernetes
		assert.Equal(t, want, k["pull_policy"], runnerType)
		assert.Equal(t, want, k["allowed_pull_policies"], "%s: jobs cannot ask for another policy", runnerType)
	}
}

func ptr[T any](v T) *T { return &v }

// scratchPatch adds a generic ephemeral volume to job pods, mounted in the
// build container.
func scratchPatch(name, class, size string) settings.PodSpecPatchSettings {
	classField := ""
	if class != "" {
		classField = `"storageClassName":"` + class + `",`
	}
	return settings.PodSpecPatchSettings{Name: name, Patch: `{"volumes":[{"name":"` + name + `","ephemeral":{"volumeClaimTemplate":{"spec":{"accessModes":["ReadWriteOnce"],` +
		classField + `"resources":{"requests":{"storage":"` + size + `"}}}}}}],"containers":[{"name":"build","volumeMounts":[{"name":"` + name + `","mountPath":"/` + name + `"}]}]}`}
}

// Ephemeral volumes only when configured: their claims and storage are
// counted for every job at once, per storage class where one is named.
func TestQuotaCountsTheConfiguredEphemeralVolumes(t *testing.T) {
	s := groupFleet()
	s.Manager.Replicas, s.Manager.Concurrent = ptr(2), 3 // 6 jobs at once
	s.Executor.PodSpecPatches = []settings.PodSpecPatchSettings{scratchPatch("scratch", "fast", "10Gi"), scratchPatch("tmp", "", "1Gi")}
	m := runFleet(t, false, s, nil)
	hard, _ := mocks.Get(m.Find(tQuota, "builds-jobs").Inputs, "spec", "hard")
	got := map[string]string{}
	for k, v := range hard.ObjectValue() {
		if strings.Contains(string(k), "storage.k8s.io") || k == "persistentvolumeclaims" || k == "requests.storage" {
			got[string(k)] = v.StringValue()
		}
	}
	assert.Equal(t, map[string]string{
		"persistentvolumeclaims":                                  "12",   // 6 jobs × 2 volumes
		"requests.storage":                                        "66Gi", // 6 × (10Gi + 1Gi)
		"fast.storageclass.storage.k8s.io/requests.storage":       "60Gi",
		"fast.storageclass.storage.k8s.io/persistentvolumeclaims": "6",
	}, got, "the default class is bounded by the totals only")

	s.Executor.Volumes = []settings.JobVolume{{PVC: "cache", MountPath: "/cache"}}
	m = runFleet(t, false, s, nil)
	hard, _ = mocks.Get(m.Find(tQuota, "builds-jobs").Inputs, "spec", "hard")
	assert.Equal(t, "13", hard.ObjectValue()["persistentvolumeclaims"].StringValue(), "the named claim and the ephemeral ones")
	for k := range hard.ObjectValue() {
		assert.NotContains(t, string(k), "storage.k8s.io", "a named claim of the user's size and class leaves storage to the claims' count and the admission policy")
		assert.NotEqual(t, "requests.storage", string(k))
	}
}

package fleet_test

import (
	"testing"

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

func TestJobNamespacePolicyKeepsJobsFromManagersAPIAndMetadata(t *testing.T) {
	a, b := groupFleet(), groupFleet()
	b.Name, b.Namespace, b.JobNamespace = "other", "other-runners", "other-jobs"
	m := runFleets(t, a, b)
	policy := m.Find(tNetworkPolicy, "builds-jobs")
	require.NotNil(t, policy)
	spec, _ := mocks.Get(policy.Inputs, "spec")
	assert.Equal(t, []string{"Ingress", "Egress"}, stringList(spec.ObjectValue()["policyTypes"]))
	_, ingress := spec.ObjectValue()["ingress"]
	assert.False(t, ingress, "no ingress rule: nothing reaches a job pod")
	selector := spec.ObjectValue()["podSelector"].ObjectValue()
	assert.Empty(t, selector, "every pod of the job namespace")

	egress := spec.ObjectValue()["egress"].ArrayValue()
	require.Len(t, egress, 2)
	expr := egress[0].ObjectValue()["to"].ArrayValue()[0].ObjectValue()["namespaceSelector"].ObjectValue()["matchExpressions"].ArrayValue()[0].ObjectValue()
	assert.Equal(t, "NotIn", expr["operator"].StringValue())
	assert.Equal(t, []string{"gitlab-runner-builds", "gitlab-runner-builds-jobs", "other-runners"}, stringList(expr["values"]),
		"not the stack's managers (any fleet's), not other jobs in its own namespace")
	blocks := egress[1].ObjectValue()["to"].ArrayValue()
	require.Len(t, blocks, 2)
	v4 := blocks[0].ObjectValue()["ipBlock"].ObjectValue()
	assert.Equal(t, "0.0.0.0/0", v4["cidr"].StringValue())
	assert.Equal(t, []string{"10.96.0.1/32", "100.100.100.200/32", "169.254.169.254/32"}, stringList(v4["except"]), "the API server and the metadata services")
	v6 := blocks[1].ObjectValue()["ipBlock"].ObjectValue()
	assert.Equal(t, []string{"fd00:ec2::254/128"}, stringList(v6["except"]))
	assert.Nil(t, m.Find(tNetworkPolicy, "other-jobs-unused"))
	assert.NotNil(t, m.Find(tNetworkPolicy, "other-jobs"), "each job namespace has its own")
}

func TestJobEgressAllowList(t *testing.T) {
	s := groupFleet()
	s.Network.JobEgressCIDRs = []string{"203.0.113.0/24"}
	m := runFleet(t, false, s, nil)
	egress, _ := mocks.Get(m.Find(tNetworkPolicy, "builds-jobs").Inputs, "spec", "egress")
	rules := egress.ArrayValue()
	require.Len(t, rules, 2)
	dns := rules[0].ObjectValue()
	_, to := dns["to"]
	assert.False(t, to, "DNS to any destination")
	assert.Len(t, dns["ports"].ArrayValue(), 2)
	assert.Equal(t, "203.0.113.0/24", rules[1].ObjectValue()["to"].ArrayValue()[0].ObjectValue()["ipBlock"].ObjectValue()["cidr"].StringValue())
}

func TestManagerPolicy(t *testing.T) {
	s := groupFleet()
	s.Network.MetricsFrom = []string{"monitoring"}
	s.Network.GitlabCIDRs = []string{"198.51.100.7/32"}
	m := runFleets(t, s)
	policy := m.Find(tNetworkPolicy, "builds-manager")
	require.NotNil(t, policy)
	assert.Equal(t, "gitlab-runner-builds", mocks.String(policy.Inputs, "metadata", "namespace"))
	spec, _ := mocks.Get(policy.Inputs, "spec")
	assert.Equal(t, "builds", spec.ObjectValue()["podSelector"].ObjectValue()["matchLabels"].ObjectValue()["app.kubernetes.io/instance"].StringValue())

	ingress := spec.ObjectValue()["ingress"].ArrayValue()
	require.Len(t, ingress, 1)
	from := ingress[0].ObjectValue()["from"].ArrayValue()[0].ObjectValue()["namespaceSelector"].ObjectValue()["matchExpressions"].ArrayValue()[0].ObjectValue()
	assert.Equal(t, []string{"monitoring"}, stringList(from["values"]))
	assert.Equal(t, float64(9252), ingress[0].ObjectValue()["ports"].ArrayValue()[0].ObjectValue()["port"].NumberValue(), "the metrics port only")

	egress := spec.ObjectValue()["egress"].ArrayValue()
	require.Len(t, egress, 3, "DNS, the API server, GitLab")
	api := egress[1].ObjectValue()
	assert.Equal(t, "10.96.0.1/32", api["to"].ArrayValue()[0].ObjectValue()["ipBlock"].ObjectValue()["cidr"].StringValue())
	assert.Equal(t, float64(6443), api["ports"].ArrayValue()[0].ObjectValue()["port"].NumberValue())
	gitlab := egress[2].ObjectValue()
	assert.Equal(t, "198.51.100.7/32", gitlab["to"].ArrayValue()[0].ObjectValue()["ipBlock"].ObjectValue()["cidr"].StringValue())
	assert.Equal(t, float64(8443), gitlab["ports"].ArrayValue()[0].ObjectValue()["port"].NumberValue(), "GitLab's port, from its URL")

	plain := runFleet(t, false, groupFleet(), nil)
	spec, _ = mocks.Get(plain.Find(tNetworkPolicy, "builds-manager").Inputs, "spec")
	_, ingressRules := spec.ObjectValue()["ingress"]
	assert.False(t, ingressRules, "without metricsFrom nothing reaches the managers")
}

func TestPoliciesOff(t *testing.T) {
	s := groupFleet()
	s.Network.Policies = ptr(false)
	m := runFleet(t, false, s, nil)
	assert.Empty(t, m.OfType(tNetworkPolicy))
	assert.Len(t, m.OfType(tVAP), 1, "the admission policy stays")
}

func TestAdmissionPolicyNarrowsTheManagersRequests(t *testing.T) {
	s := groupFleet()
	s.Executor.ServiceAccount = "ci-jobs"
	m := runFleet(t, false, s, nil)
	vap := m.Find(tVAP, "builds-manager-requests")
	require.NotNil(t, vap)
	spec, _ := mocks.Get(vap.Inputs, "spec")
	assert.Equal(t, "Fail", spec.ObjectValue()["failurePolicy"].StringValue())
	match := spec.ObjectValue()["matchConstraints"].ObjectValue()
	assert.Equal(t, "gitlab-runner-builds-jobs", match["namespaceSelector"].ObjectValue()["matchLabels"].ObjectValue()["kubernetes.io/metadata.name"].StringValue())
	assert.Equal(t, []string{"pods", "secrets", "services"}, stringList(match["resourceRules"].ArrayValue()[0].ObjectValue()["resources"]))
	condition := spec.ObjectValue()["matchConditions"].ArrayValue()[0].ObjectValue()["expression"].StringValue()
	assert.Equal(t, `request.userInfo.username == "system:serviceaccount:gitlab-runner-builds:builds"`, condition, "only the manager's requests")
	var expressions []string
	for _, v := range spec.ObjectValue()["validations"].ArrayValue() {
		expressions = append(expressions, v.ObjectValue()["expression"].StringValue())
	}
	require.Len(t, expressions, 3)
	assert.Contains(t, expressions[0], `object.type != "kubernetes.io/service-account-token"`)
	assert.Contains(t, expressions[1], `in ["ci-jobs"]`, "pods run as the configured job ServiceAccount only")
	assert.Contains(t, expressions[2], `object.spec.type == "ClusterIP"`)
	assert.Contains(t, expressions[2], `size(object.spec.externalIPs) == 0`)

	binding := m.Find(tVAPBinding, "builds-manager-requests")
	require.NotNil(t, binding)
	assert.Equal(t, "gitlab-runner-fleet.gitlab-runner-builds-jobs.builds", mocks.String(binding.Inputs, "spec", "policyName"))
	actions, _ := mocks.Get(binding.Inputs, "spec", "validationActions")
	assert.Equal(t, []string{"Deny"}, stringList(actions))
}

func TestJobNamespaceQuotaLimitsAndDefaultServiceAccount(t *testing.T) {
	a := groupFleet() // 2 managers × 10 jobs
	b := groupFleet()
	b.Name, b.Namespace = "more", "more-runners"
	b.JobNamespace = a.JobNamespace
	b.Manager.Replicas, b.Manager.Concurrent = ptr(1), 5
	b.Executor.Quota.CPU = "3"
	m := runFleets(t, a, b)
	require.Len(t, m.OfType(tQuota), 1, "one quota per job namespace")
	hard, _ := mocks.Get(m.Find(tQuota, "builds-jobs").Inputs, "spec", "hard")
	h := hard.ObjectValue()
	assert.Equal(t, "25", h["pods"].StringValue(), "20 + 5 jobs")
	// builds: 20 jobs × (500m + 50m + 2×100m) = 15; more: 3 set by hand.
	assert.Equal(t, "18", h["requests.cpu"].StringValue())
	// 25 jobs × (2Gi + 256Mi + 2×1Gi) = 106.25Gi
	assert.Equal(t, "108800Mi", h["limits.memory"].StringValue())
	assert.Equal(t, "800Gi", h["limits.ephemeral-storage"].StringValue(), "25 × (20Gi + 2Gi + 2×5Gi)")

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

func TestPullPolicyDefaultsToAlwaysOnSharedRunners(t *testing.T) {
	for runnerType, want := range map[string][]string{"instance_type": {"always"}, "group_type": {"always"}, "project_type": {"if-not-present"}} {
		r := settings.RunnerSettings{Type: runnerType}
		switch runnerType {
		case "group_type":
			r.GroupID = 1
		case "project_type":
			r.ProjectID = 1
		}
		s := settings.FleetSettings{Name: "b", Runner: r}.WithDefaults("t")
		assert.Equal(t, want, s.Executor.PullPolicy, runnerType)
		text, err := runnerconfig.RenderRunnerTemplate(s)
		require.NoError(t, err)
		assert.Contains(t, text, "allowed_pull_policies", "jobs cannot ask for another policy")
	}
}

func ptr[T any](v T) *T { return &v }

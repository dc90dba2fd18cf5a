package fleet_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/fleet"
	"github.com/glrf/gitlab-runner-fleet/components/plan"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
	"github.com/glrf/gitlab-runner-fleet/tests/mocks"
)

const (
	tNamespace      = "kubernetes:core/v1:Namespace"
	tServiceAccount = "kubernetes:core/v1:ServiceAccount"
	tRole           = "kubernetes:rbac.authorization.k8s.io/v1:Role"
	tRoleBinding    = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
	tSecret         = "kubernetes:core/v1:Secret"
	tConfigMap      = "kubernetes:core/v1:ConfigMap"
	tService        = "kubernetes:core/v1:Service"
	tStatefulSet    = "kubernetes:apps/v1:StatefulSet"
	tPDB            = "kubernetes:policy/v1:PodDisruptionBudget"
	tVAP            = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
	tVAPBinding     = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
	tSAPatch        = "kubernetes:core/v1:ServiceAccountPatch"
	tQuota          = "kubernetes:core/v1:ResourceQuota"
	tLimitRange     = "kubernetes:core/v1:LimitRange"
	tNetworkPolicy  = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
	tUserRunner     = "gitlab:index/userRunner:UserRunner"
)

// testAPIServer is the API server the component tests' cluster has.
var testAPIServer = fleet.StaticAPIServer([]string{"10.96.0.1/32"}, 6443)

func groupFleet() settings.FleetSettings {
	return settings.FleetSettings{
		Name:   "builds",
		Runner: settings.RunnerSettings{Type: "group_type", GroupID: 42, Tags: []string{"docker", "linux"}, MaximumTimeout: 7200},
	}.WithDefaults("test")
}

// runFleet registers one fleet, planned as the program plans it, against mocks.
func runFleet(t *testing.T, preview bool, s settings.FleetSettings, token pulumi.StringInput) *mocks.Mocks {
	t.Helper()
	plans, problems := plan.Plan([]settings.FleetSettings{s})
	require.NoError(t, problems.Err())
	m := &mocks.Mocks{Preview: preview}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := fleet.NewRunnerFleet(ctx, s.Name, &fleet.RunnerFleetArgs{
			Settings:  s,
			GitlabURL: "https://gitlab.example.com/",
			Token:     token,
			Stack:     &fleet.StackPart{CreateNamespaces: plans[0].Create, Jobs: plans[0].Jobs},
			APIServer: testAPIServer,
		})
		return err
	}, pulumi.WithMocks("project", "stack", m), func(info *pulumi.RunInfo) { info.DryRun = preview })
	require.NoError(t, err)
	return m
}

func TestFleetRegistersEveryObjectUnderTheComponent(t *testing.T) {
	m := runFleet(t, false, groupFleet(), nil)

	type want struct{ typ, name, namespace, k8sName string }
	wants := []want{
		{tNamespace, "gitlab-runner-builds", "", "gitlab-runner-builds"},
		{tNamespace, "gitlab-runner-builds-jobs", "", "gitlab-runner-builds-jobs"},
		{tUserRunner, "builds", "", ""},
		{tServiceAccount, "builds", "gitlab-runner-builds", "builds"},
		{tRole, "builds-executor", "gitlab-runner-builds-jobs", "builds-executor"},
		{tRoleBinding, "builds-executor", "gitlab-runner-builds-jobs", "builds-executor"},
		{tSecret, "builds-token", "gitlab-runner-builds", ""},
		{tConfigMap, "builds-config", "gitlab-runner-builds", ""},
		{tConfigMap, "builds-entrypoint", "gitlab-runner-builds", ""},
		{tService, "builds", "gitlab-runner-builds", "builds"},
		{tStatefulSet, "builds", "gitlab-runner-builds", "builds"},
		{tPDB, "builds", "gitlab-runner-builds", "builds"},
		{tVAP, "builds-manager-requests", "", "gitlab-runner-fleet.gitlab-runner-builds-jobs.builds"},
		{tVAPBinding, "builds-manager-requests", "", "gitlab-runner-fleet.gitlab-runner-builds-jobs.builds"},
		{tNetworkPolicy, "builds-manager", "gitlab-runner-builds", "builds-manager"},
		{tSAPatch, "builds-jobs-default-sa", "gitlab-runner-builds-jobs", "default"},
		{tNetworkPolicy, "builds-jobs", "gitlab-runner-builds-jobs", "gitlab-runner-jobs"},
		{tQuota, "builds-jobs", "gitlab-runner-builds-jobs", "gitlab-runner-jobs"},
		{tLimitRange, "builds-jobs", "gitlab-runner-builds-jobs", "gitlab-runner-jobs"},
	}
	var custom []mocks.Registration
	for _, r := range m.All() {
		if r.Custom {
			custom = append(custom, r)
		}
	}
	require.Len(t, custom, len(wants), "exactly the expected resources")
	for _, w := range wants {
		t.Run(w.typ+"/"+w.name, func(t *testing.T) {
			r := m.Find(w.typ, w.name)
			require.NotNil(t, r, "registered")
			assert.Equal(t, fleet.RunnerFleetType, r.ParentType, "parented to the fleet")
			assert.Equal(t, "builds", r.ParentName)
			if w.namespace != "" {
				assert.Equal(t, w.namespace, mocks.String(r.Inputs, "metadata", "namespace"))
			}
			assert.Equal(t, w.k8sName, mocks.String(r.Inputs, "metadata", "name"), "explicit name, or auto-named when empty")
			if w.typ != tUserRunner && w.typ != tNamespace && w.k8sName != "gitlab-runner-jobs" && w.typ != tSAPatch {
				assert.Equal(t, "builds", mocks.String(r.Inputs, "metadata", "labels", "app.kubernetes.io/instance"))
				assert.Equal(t, "pulumi", mocks.String(r.Inputs, "metadata", "labels", "app.kubernetes.io/managed-by"))
				version := mocks.String(r.Inputs, "metadata", "labels", "app.kubernetes.io/version")
				if w.typ == tStatefulSet {
					assert.Equal(t, "alpine-v19.3.0", version)
				} else {
					assert.Empty(t, version, "only the workload carries the image version, so a bump touches nothing else")
				}
			}
		})
	}
	fleet := m.OfType(fleet.RunnerFleetType)
	require.Len(t, fleet, 1)
	assert.Empty(t, fleet[0].ParentType, "the fleet sits at the stack's root")
}

func TestUserRunnerCarriesTheServerSideSettings(t *testing.T) {
	m := runFleet(t, false, groupFleet(), nil)
	r := m.Find(tUserRunner, "builds")
	require.NotNil(t, r)
	assert.Equal(t, "8.11.0", r.Version, "pinned plugin version")
	assert.Contains(t, r.AdditionalSecretOutputs, "token")
	assert.Equal(t, resource.PropertyMap{
		"runnerType":      resource.NewProperty("group_type"),
		"groupId":         resource.NewProperty(42.0),
		"description":     resource.NewProperty("builds (test)"),
		"tagLists":        resource.NewProperty([]resource.PropertyValue{resource.NewProperty("docker"), resource.NewProperty("linux")}),
		"untagged":        resource.NewProperty(false),
		"locked":          resource.NewProperty(false),
		"paused":          resource.NewProperty(false),
		"accessLevel":     resource.NewProperty("not_protected"),
		"maximumTimeout":  resource.NewProperty(7200.0),
		"maintenanceNote": resource.NewProperty(""),
	}, r.Inputs)
}

func TestTokenFlowsIntoTheSecretAndStaysSecret(t *testing.T) {
	m := runFleet(t, false, groupFleet(), nil)

	secret := m.Find(tSecret, "builds-token")
	require.NotNil(t, secret)
	stringData := secret.Inputs["stringData"]
	assert.True(t, mocks.ContainsSecret(stringData), "the token is secret in the Secret's inputs")
	assert.Equal(t, "glrt-mock-builds", mocks.String(secret.Inputs, "stringData", "runner-token"), "the UserRunner's token")

	for _, r := range m.All() {
		if r.Type == tSecret {
			continue
		}
		for key, v := range r.Inputs {
			assert.NotContains(t, v.String(), "glrt-mock", "token leaked into %s %s.%s", r.Type, r.Name, key)
		}
	}
	sts := m.Find(tStatefulSet, "builds")
	require.NotNil(t, sts)
	_, annotated := mocks.Get(sts.Inputs, "spec", "template", "metadata", "annotations", "checksum/token")
	assert.False(t, annotated, "no token-derived value on the pods")
	assert.Equal(t, "builds-token-mock1234", tokenVolumeSecret(t, sts).StringValue(),
		"the pods mount the auto-named Secret (the mocks name it <name>-mock1234): a new token is a new Secret name, which rolls them")
}

// tokenVolumeSecret is the secretName of the manager pods' token volume.
func tokenVolumeSecret(t *testing.T, sts *mocks.Registration) resource.PropertyValue {
	t.Helper()
	volumes, ok := mocks.Get(sts.Inputs, "spec", "template", "spec", "volumes")
	require.True(t, ok)
	for _, v := range volumes.ArrayValue() {
		if v.ObjectValue()["name"].StringValue() == "token" {
			return v.ObjectValue()["secret"].ObjectValue()["secretName"]
		}
	}
	t.Fatal("no token volume")
	return resource.PropertyValue{}
}

func TestExistingTokenCreatesNoRunner(t *testing.T) {
	s := settings.FleetSettings{Name: "shared", TokenConfigKey: "sharedToken"}.WithDefaults("test")
	m := runFleet(t, false, s, pulumi.String("glrt-existing"))
	assert.Empty(t, m.OfType(tUserRunner))
	secret := m.Find(tSecret, "shared-token")
	require.NotNil(t, secret)
	assert.True(t, mocks.ContainsSecret(secret.Inputs["stringData"]), "a plain input token is made secret")
	assert.Equal(t, "glrt-existing", mocks.String(secret.Inputs, "stringData", "runner-token"))
}

func TestWorkloadDependsOnRBAC(t *testing.T) {
	m := runFleet(t, false, groupFleet(), nil)
	sts := m.Find(tStatefulSet, "builds")
	require.NotNil(t, sts)
	deps := map[string]bool{}
	for _, d := range sts.Dependencies {
		deps[string(resource.URN(d).Type())+"/"+resource.URN(d).Name()] = true
	}
	for _, want := range []string{tServiceAccount + "/builds", tRole + "/builds-executor", tRoleBinding + "/builds-executor"} {
		assert.True(t, deps[want], "StatefulSet depends on %s (destroyed after the pods)", want)
	}
}

func TestRoleHasExactlyTheDocumentedRules(t *testing.T) {
	s := groupFleet()
	m := runFleet(t, false, s, nil)
	role := m.Find(tRole, "builds-executor")
	require.NotNil(t, role)
	rules, _ := mocks.Get(role.Inputs, "rules")
	var got []fleet.PolicyRule
	for _, r := range rules.ArrayValue() {
		obj := r.ObjectValue()
		got = append(got, fleet.PolicyRule{
			APIGroup:  obj["apiGroups"].ArrayValue()[0].StringValue(),
			Resources: stringList(obj["resources"]),
			Verbs:     stringList(obj["verbs"]),
		})
	}
	assert.Equal(t, fleet.RoleRules(s.Executor), got)

	binding := m.Find(tRoleBinding, "builds-executor")
	require.NotNil(t, binding)
	assert.Equal(t, "Role", mocks.String(binding.Inputs, "roleRef", "kind"))
	subjects, _ := mocks.Get(binding.Inputs, "subjects")
	require.Len(t, subjects.ArrayValue(), 1)
	subject := subjects.ArrayValue()[0].ObjectValue()
	assert.Equal(t, "ServiceAccount", subject["kind"].StringValue())
	assert.Equal(t, "builds", subject["name"].StringValue())
	assert.Equal(t, "gitlab-runner-builds", subject["namespace"].StringValue())
}

func stringList(v resource.PropertyValue) []string {
	var out []string
	for _, e := range v.ArrayValue() {
		out = append(out, e.StringValue())
	}
	return out
}

func TestPreviewWithUnknownToken(t *testing.T) {
	s := groupFleet()
	plans, problems := plan.Plan([]settings.FleetSettings{s})
	require.NoError(t, problems.Err())
	m, err := mocks.RunPreview(func(ctx *pulumi.Context) error {
		_, err := fleet.NewRunnerFleet(ctx, s.Name, &fleet.RunnerFleetArgs{
			Settings: s, GitlabURL: "https://gitlab.example.com/", Stack: &fleet.StackPart{CreateNamespaces: plans[0].Create}, APIServer: testAPIServer,
		})
		return err
	}, nil, nil)
	require.NoError(t, err)

	secret := m.Find(tSecret, "builds-token")
	require.NotNil(t, secret)
	v, ok := mocks.Get(secret.Inputs, "stringData")
	require.True(t, ok)
	assert.True(t, v.IsSecret(), "still secret while unknown")
	assert.True(t, v.ContainsUnknowns(), "the token is unknown until the runner exists")
	sts := m.Find(tStatefulSet, "builds")
	require.NotNil(t, sts, "the workload is previewed too")
	assert.Equal(t, "builds-token-mock1234", tokenVolumeSecret(t, sts).StringValue(), "the pods mount the token Secret")
	assert.False(t, mocks.ContainsSecret(resource.NewProperty(sts.Inputs)), "nothing derived from the token reaches the workload")
}

// A change while jobs run must not fail `up`: the provider does not wait for
// the rollout, but a destroy waits for the managers' drain, bounded by the
// kubelet's own bound (the grace period).
func TestStatefulSetRolloutIsNotAwaitedButItsDeletionIs(t *testing.T) {
	s := groupFleet()
	m := runFleet(t, false, s, nil)
	sts := m.Find(tStatefulSet, "builds")
	require.NotNil(t, sts)
	assert.Equal(t, "jsonpath={.metadata.name}", mocks.String(sts.Inputs, "metadata", "annotations", fleet.WaitForAnnotation),
		"ready once the API server has it, instead of the provider's rollout await")
	_, skip := mocks.Get(sts.Inputs, "metadata", "annotations", "pulumi.com/skipAwait")
	assert.False(t, skip, "skipAwait would skip the wait on delete too")
	assert.Equal(t, fmt.Sprintf("%ds", s.Manager.TerminationGracePeriodSeconds+120), sts.DeleteTimeout)
	assert.Equal(t, fleet.DeleteTimeout(s.Manager), sts.DeleteTimeout)
}

func TestJobNamespaceWarnsAndAuditsAtTheEnforcedLevel(t *testing.T) {
	m := runFleet(t, false, groupFleet(), nil)
	jobs := m.Find(tNamespace, "gitlab-runner-builds-jobs")
	require.NotNil(t, jobs)
	for _, mode := range []string{"enforce", "warn", "audit"} {
		assert.Equal(t, "baseline", mocks.String(jobs.Inputs, "metadata", "labels", "pod-security.kubernetes.io/"+mode),
			"%s: a stricter level would flag every job the namespace admits", mode)
	}
	managers := m.Find(tNamespace, "gitlab-runner-builds")
	assert.Equal(t, "restricted", mocks.String(managers.Inputs, "metadata", "labels", "pod-security.kubernetes.io/warn"))
}

// GitLab first: when it refuses the runner, nothing reaches Kubernetes; on
// destroy the runner goes last.
func TestEveryKubernetesObjectWaitsForTheRunner(t *testing.T) {
	m := runFleet(t, false, groupFleet(), nil)
	checked := 0
	for _, r := range m.All() {
		if !r.Custom || !strings.HasPrefix(r.Type, "kubernetes:") {
			continue
		}
		assert.True(t, slices.ContainsFunc(r.Dependencies, func(d string) bool { return strings.HasSuffix(d, tUserRunner+"::builds") }),
			"%s %s depends on the UserRunner", r.Type, r.Name)
		checked++
	}
	assert.Greater(t, checked, 15)
}

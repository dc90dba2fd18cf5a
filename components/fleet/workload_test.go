package fleet_test

import (
	"strconv"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
	"github.com/glrf/gitlab-runner-fleet/tests/mocks"
)

func podSpecOf(t *testing.T, m *mocks.Mocks, name string) resource.PropertyMap {
	t.Helper()
	sts := m.Find(tStatefulSet, name)
	require.NotNil(t, sts)
	spec, ok := mocks.Get(sts.Inputs, "spec", "template", "spec")
	require.True(t, ok)
	return spec.ObjectValue()
}

// The Pod Security Standard "restricted" profile, checked field by field
// (https://kubernetes.io/docs/concepts/security/pod-security-standards/).
func TestManagerPodSatisfiesRestrictedProfile(t *testing.T) {
	pod := podSpecOf(t, runFleet(t, false, groupFleet(), nil), "builds")

	for _, field := range []string{"hostNetwork", "hostPID", "hostIPC"} {
		assert.False(t, pod[resource.PropertyKey(field)].IsBool() && pod[resource.PropertyKey(field)].BoolValue(), field)
	}
	podSC := pod["securityContext"].ObjectValue()
	assert.True(t, podSC["runAsNonRoot"].BoolValue(), "runAsNonRoot")
	assert.NotZero(t, podSC["runAsUser"].NumberValue(), "runAsUser is not root")
	assert.Equal(t, "RuntimeDefault", podSC["seccompProfile"].ObjectValue()["type"].StringValue())

	for _, v := range pod["volumes"].ArrayValue() {
		vol := v.ObjectValue()
		_, hostPath := vol["hostPath"]
		assert.False(t, hostPath, "no hostPath volumes")
		allowed := false
		for _, kind := range []string{"emptyDir", "configMap", "secret", "projected", "downwardAPI", "persistentVolumeClaim", "ephemeral", "csi"} {
			if _, ok := vol[resource.PropertyKey(kind)]; ok {
				allowed = true
			}
		}
		assert.True(t, allowed, "volume %v uses an allowed type", vol["name"])
	}

	containers := pod["containers"].ArrayValue()
	require.Len(t, containers, 1)
	c := containers[0].ObjectValue()
	sc := c["securityContext"].ObjectValue()
	assert.False(t, sc["allowPrivilegeEscalation"].BoolValue(), "allowPrivilegeEscalation")
	assert.False(t, sc["privileged"].BoolValue(), "privileged")
	assert.Equal(t, []resource.PropertyValue{resource.NewProperty("ALL")}, sc["capabilities"].ObjectValue()["drop"].ArrayValue())
	_, adds := sc["capabilities"].ObjectValue()["add"]
	assert.False(t, adds, "no added capabilities")
	assert.True(t, sc["runAsNonRoot"].BoolValue())
	assert.Equal(t, "RuntimeDefault", sc["seccompProfile"].ObjectValue()["type"].StringValue())
	for _, p := range c["ports"].ArrayValue() {
		_, hostPort := p.ObjectValue()["hostPort"]
		assert.False(t, hostPort, "no host ports")
	}
}

func TestManagerPodLifecycle(t *testing.T) {
	s := groupFleet()
	pod := podSpecOf(t, runFleet(t, false, s, nil), "builds")
	assert.Equal(t, float64(7200+settings.DefaultShutdownTimeout+settings.StopMargin), pod["terminationGracePeriodSeconds"].NumberValue(),
		"the grace period covers the runner's maximum timeout, then the forceful stop")
	assert.True(t, pod["automountServiceAccountToken"].BoolValue(), "the executor needs the ServiceAccount token")
	assert.Equal(t, "builds", pod["serviceAccountName"].StringValue())

	c := pod["containers"].ArrayValue()[0].ObjectValue()
	assert.Equal(t, settings.DefaultManagerImage, c["image"].StringValue())
	preStop := c["lifecycle"].ObjectValue()["preStop"].ObjectValue()["exec"].ObjectValue()["command"].ArrayValue()
	assert.Equal(t, []resource.PropertyValue{resource.NewProperty("/bin/sh"), resource.NewProperty("/scripts/entrypoint.sh"), resource.NewProperty("prestop")},
		preStop, "SIGTERM is preceded by the graceful SIGQUIT (entrypoint.sh prestop)")
	for _, probe := range []string{"startupProbe", "livenessProbe", "readinessProbe"} {
		assert.Equal(t, "/metrics", c[resource.PropertyKey(probe)].ObjectValue()["httpGet"].ObjectValue()["path"].StringValue(), probe)
	}
	mounts := map[string]string{}
	for _, m := range c["volumeMounts"].ArrayValue() {
		mounts[m.ObjectValue()["name"].StringValue()] = m.ObjectValue()["mountPath"].StringValue()
	}
	assert.Equal(t, "/etc/gitlab-runner", mounts["config"])
	for _, v := range pod["volumes"].ArrayValue() {
		if v.ObjectValue()["name"].StringValue() == "config" {
			assert.Equal(t, "Memory", v.ObjectValue()["emptyDir"].ObjectValue()["medium"].StringValue(), "config dir on an in-memory emptyDir")
		}
	}
	resources := c["resources"].ObjectValue()
	assert.Equal(t, "256Mi", resources["limits"].ObjectValue()["memory"].StringValue())
}

// envOf is the value of a container's environment variable.
func envOf(t *testing.T, container resource.PropertyMap, name string) string {
	t.Helper()
	for _, e := range container["env"].ArrayValue() {
		if e.ObjectValue()["name"].StringValue() == name {
			return e.ObjectValue()["value"].StringValue()
		}
	}
	t.Fatalf("no %s in the container's environment", name)
	return ""
}

func TestAntiAffinity(t *testing.T) {
	for _, mode := range []string{"required", "preferred", "none"} {
		t.Run(mode, func(t *testing.T) {
			s := groupFleet()
			s.Manager.AntiAffinity = mode
			pod := podSpecOf(t, runFleet(t, false, s, nil), "builds")
			affinity, ok := pod["affinity"]
			if mode == "none" {
				assert.False(t, ok && !affinity.IsNull())
				return
			}
			anti := affinity.ObjectValue()["podAntiAffinity"].ObjectValue()
			var term resource.PropertyMap
			if mode == "required" {
				term = anti["requiredDuringSchedulingIgnoredDuringExecution"].ArrayValue()[0].ObjectValue()
			} else {
				term = anti["preferredDuringSchedulingIgnoredDuringExecution"].ArrayValue()[0].ObjectValue()["podAffinityTerm"].ObjectValue()
			}
			assert.Equal(t, "kubernetes.io/hostname", term["topologyKey"].StringValue())
			assert.Equal(t, "builds", term["labelSelector"].ObjectValue()["matchLabels"].ObjectValue()["app.kubernetes.io/instance"].StringValue())
		})
	}
}

func TestConfigChangeChangesChecksum(t *testing.T) {
	checksum := func(s settings.FleetSettings) string {
		m := runFleet(t, false, s, nil)
		return mocks.String(m.Find(tStatefulSet, s.Name).Inputs, "spec", "template", "metadata", "annotations", "checksum/config")
	}
	base := groupFleet()
	changed := groupFleet()
	changed.Manager.Concurrent = 20
	same := groupFleet()
	assert.Regexp(t, `^[0-9a-f]{64}$`, checksum(base))
	assert.Equal(t, checksum(base), checksum(same), "stable for the same config")
	assert.NotEqual(t, checksum(base), checksum(changed), "a config change rolls the pods")
}

func TestNamespacesEnforcePodSecurity(t *testing.T) {
	m := runFleet(t, false, groupFleet(), nil)
	level := func(ns string) string {
		r := m.Find(tNamespace, ns)
		require.NotNil(t, r)
		return mocks.String(r.Inputs, "metadata", "labels", "pod-security.kubernetes.io/enforce")
	}
	assert.Equal(t, "restricted", level("gitlab-runner-builds"), "managers' namespace")
	assert.Equal(t, "baseline", level("gitlab-runner-builds-jobs"), "jobs' namespace")

	// Privileged jobs (docker-in-docker) get the privileged level, managers keep restricted.
	m = runFleet(t, false, settings.FleetSettings{
		Name: "dind", Runner: settings.RunnerSettings{Type: "instance_type"}, Executor: settings.ExecutorSettings{Privileged: true,
			NodeSelector: map[string]string{"pool": "privileged-ci"}, Tolerations: []settings.Toleration{{Key: "privileged-ci", Operator: "Exists", Effect: "NoSchedule"}}},
	}.WithDefaults("test"), nil)
	assert.Equal(t, "restricted", mocks.String(m.Find(tNamespace, "gitlab-runner-dind").Inputs, "metadata", "labels", "pod-security.kubernetes.io/enforce"))
	assert.Equal(t, "privileged", mocks.String(m.Find(tNamespace, "gitlab-runner-dind-jobs").Inputs, "metadata", "labels", "pod-security.kubernetes.io/enforce"))
}

func TestExistingNamespacesAreNotCreated(t *testing.T) {
	s := groupFleet()
	no := false
	s.CreateNamespace, s.CreateJobNamespace = &no, &no
	m := runFleet(t, false, s, nil)
	assert.Empty(t, m.OfType(tNamespace))
	assert.Equal(t, "gitlab-runner-builds", mocks.String(m.Find(tStatefulSet, "builds").Inputs, "metadata", "namespace"))
}

func TestEntrypointRetryBudgetFitsTheStartupProbe(t *testing.T) {
	s := settings.FleetSettings{Name: "b", Runner: settings.RunnerSettings{Type: "instance_type"}}.WithDefaults("test")
	pod := podSpecOf(t, runFleet(t, false, s, nil), "b")
	c := pod["containers"].ArrayValue()[0].ObjectValue()
	probe := c["startupProbe"].ObjectValue()
	window := probe["periodSeconds"].NumberValue() * probe["failureThreshold"].NumberValue()
	budget, err := strconv.Atoi(envOf(t, c, "REGISTER_BUDGET_SECONDS"))
	require.NoError(t, err)
	// The sleeps plus one more attempt (the runner's HTTP client gives up
	// within a minute on an unreachable GitLab) end inside the window.
	assert.Less(t, float64(budget+60), window, "retry sleeps of %ds end before the %vs startup probe gives up", budget, window)
}

func TestDrainTimeLeavesTheShutdownTimeout(t *testing.T) {
	s := settings.FleetSettings{Name: "b", Runner: settings.RunnerSettings{Type: "group_type", GroupID: 1, MaximumTimeout: 3600}}.WithDefaults("test")
	pod := podSpecOf(t, runFleet(t, false, s, nil), "b")
	grace := int(pod["terminationGracePeriodSeconds"].NumberValue())
	c := pod["containers"].ArrayValue()[0].ObjectValue()
	drain, err := strconv.Atoi(envOf(t, c, "DRAIN_SECONDS"))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, drain, 3600, "a job started just before the stop may run its maximum timeout")
	assert.Equal(t, grace-s.Manager.ShutdownTimeout-settings.StopMargin, drain,
		"after the drain, SIGTERM leaves shutdown_timeout and a margin before the kubelet's SIGKILL")
	preStop := c["lifecycle"].ObjectValue()["preStop"].ObjectValue()["exec"].ObjectValue()["command"].ArrayValue()
	assert.Equal(t, "prestop", preStop[len(preStop)-1].StringValue())
}

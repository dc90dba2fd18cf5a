package runnerconfig

import (
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"k8s.io/utils/ptr"

	"github.com/glrf/gitlab-runner-fleet/components/runnerversion"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// renderedJobPod renders the fleet's template to TOML, reads it back (as the
// runner reads config.toml) and builds the job pod the runner would.
func renderedJobPod(t *testing.T, s settings.FleetSettings) *corev1.Pod {
	t.Helper()
	text, err := RenderRunnerTemplate(s)
	require.NoError(t, err)
	var decoded RunnerTemplate
	_, err = toml.Decode(text, &decoded)
	require.NoError(t, err)
	require.Len(t, decoded.Runners, 1)
	pod, err := JobPod(decoded.Runners[0], s.RunnerVersion(), JobPodOptions{Services: 2})
	require.NoError(t, err)
	return pod
}

func admittedAt(t *testing.T, pod *corev1.Pod, level string) []string {
	t.Helper()
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks())
	require.NoError(t, err)
	lvl, err := api.ParseLevel(level)
	require.NoError(t, err)
	var refused []string
	for _, r := range evaluator.EvaluatePod(api.LevelVersion{Level: lvl, Version: api.LatestVersion()}, &pod.ObjectMeta, &pod.Spec) {
		if !r.Allowed {
			refused = append(refused, r.ForbiddenReason+": "+r.ForbiddenDetail)
		}
	}
	return refused
}

// Each Pod Security level a job namespace may have admits the job pods that
// the runner builds from the fleet's rendered configuration, for the default
// runner release and for one older than 18.11 (seccomp through pod_spec).
func TestJobPodsAreAdmittedAtTheirNamespaceLevel(t *testing.T) {
	images := map[string]string{
		"v19.3.0": settings.DefaultManagerImage,
		"v18.6.0": "registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v18.6.0",
		"v17.0.0": "registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v17.0.0",
	}
	type fleet struct {
		name              string
		executor          settings.ExecutorSettings
		admitted, refused []string
	}
	fleets := []fleet{
		{"default (baseline)", settings.ExecutorSettings{}, []string{"baseline", "privileged"}, []string{"restricted"}},
		{"restricted", settings.ExecutorSettings{PodSecurity: "restricted"}, []string{"restricted", "baseline", "privileged"}, nil},
		{"restricted, own ids", settings.ExecutorSettings{PodSecurity: "restricted", RunAsUser: ptr.To(int64(2000)), RunAsGroup: ptr.To(int64(3000)), FSGroup: ptr.To(int64(3000))},
			[]string{"restricted"}, nil},
		{"baseline, sudo allowed", settings.ExecutorSettings{AllowPrivilegeEscalation: ptr.To(true)}, []string{"baseline"}, []string{"restricted"}},
		{"privileged (docker-in-docker)", settings.ExecutorSettings{Privileged: true}, []string{"privileged"}, []string{"baseline", "restricted"}},
		{"legacy execution strategy", settings.ExecutorSettings{PodSecurity: "restricted", FeatureFlags: map[string]bool{runnerversion.FFLegacyExecution: true}}, []string{"restricted"}, nil},
	}
	for version, image := range images {
		for _, f := range fleets {
			t.Run(version+"/"+f.name, func(t *testing.T) {
				s := settings.FleetSettings{Name: "b", Runner: settings.RunnerSettings{Type: "instance_type"}, Manager: settings.ManagerSettings{Image: image}, Executor: f.executor}.WithDefaults("t")
				require.NoError(t, checkAll(s, "fleet").Err(), "the fleet is valid at its own level")
				pod := renderedJobPod(t, s)
				for _, level := range f.admitted {
					assert.Empty(t, admittedAt(t, pod, level), "admitted at %s", level)
				}
				for _, level := range f.refused {
					assert.NotEmpty(t, admittedAt(t, pod, level), "refused at %s", level)
				}
			})
		}
	}
}

// The runner's own defaults (what the fleet rendered before it set any
// security context) fail restricted: this is what the test above guards.
func TestRunnerDefaultJobPodFailsRestricted(t *testing.T) {
	pod, err := JobPod(RunnerConfig{Executor: "kubernetes", Kubernetes: KubernetesConfig{Namespace: "jobs", Image: "alpine:3.22"}},
		runnerversion.NewestKnown, JobPodOptions{Services: 1})
	require.NoError(t, err)
	assert.Empty(t, admittedAt(t, pod, "baseline"))
	refused := admittedAt(t, pod, "restricted")
	assert.Len(t, refused, 4, "allowPrivilegeEscalation, capabilities, runAsNonRoot and seccomp: %v", refused)
}

func TestJobPodFollowsTheRunner(t *testing.T) {
	s := settings.FleetSettings{Name: "b", Runner: settings.RunnerSettings{Type: "instance_type"},
		Executor: settings.ExecutorSettings{Privileged: true, ServiceAccount: "ci", NodeSelector: map[string]string{"pool": "ci"},
			Tolerations: []settings.Toleration{{Key: "ci", Operator: "Exists", Effect: "NoSchedule"}}}}.WithDefaults("t")
	pod := renderedJobPod(t, s)

	require.Len(t, pod.Spec.InitContainers, 1)
	assert.Equal(t, "init-permissions", pod.Spec.InitContainers[0].Name)
	var names []string
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	assert.Equal(t, []string{"build", "helper", "svc-0", "svc-1"}, names)
	privileged := map[string]bool{}
	for _, c := range append(pod.Spec.InitContainers, pod.Spec.Containers...) {
		privileged[c.Name] = *c.SecurityContext.Privileged
		assert.Equal(t, []corev1.Capability{"NET_RAW"}, c.SecurityContext.Capabilities.Drop, "the runner's default drop stays")
	}
	assert.Equal(t, map[string]bool{"init-permissions": false, "build": true, "helper": false, "svc-0": true, "svc-1": true}, privileged,
		"only build and service containers are privileged")
	assert.Equal(t, "ci", pod.Spec.ServiceAccountName)
	assert.True(t, *pod.Spec.AutomountServiceAccountToken, "a job ServiceAccount chosen on purpose is mounted")
	assert.Equal(t, map[string]string{"pool": "ci"}, pod.Spec.NodeSelector)
	assert.Equal(t, []corev1.Toleration{{Key: "ci", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}, pod.Spec.Tolerations)

	plain := renderedJobPod(t, settings.FleetSettings{Name: "b", Runner: settings.RunnerSettings{Type: "instance_type"}}.WithDefaults("t"))
	assert.False(t, *plain.Spec.AutomountServiceAccountToken, "no API token in jobs without a job ServiceAccount")
}

func TestRestrictedJobPodRunsAsTheConfiguredUser(t *testing.T) {
	s := settings.FleetSettings{Name: "b", Runner: settings.RunnerSettings{Type: "instance_type"},
		Executor: settings.ExecutorSettings{PodSecurity: "restricted", RunAsUser: ptr.To(int64(4242))}}.WithDefaults("t")
	pod := renderedJobPod(t, s)
	assert.Equal(t, int64(4242), *pod.Spec.SecurityContext.RunAsUser)
	assert.Equal(t, int64(settings.DefaultJobGroup), *pod.Spec.SecurityContext.FSGroup)
	assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, pod.Spec.SecurityContext.SeccompProfile.Type)
	for _, c := range pod.Spec.Containers {
		assert.Equal(t, int64(4242), *c.SecurityContext.RunAsUser, "%s takes the pod's user (getSecurityContextWithUIDGID)", c.Name)
		assert.Equal(t, []corev1.Capability{"ALL"}, c.SecurityContext.Capabilities.Drop)
		assert.False(t, *c.SecurityContext.AllowPrivilegeEscalation)
	}
}

func TestValidateRefusesALevelTheJobsCannotPass(t *testing.T) {
	s := settings.FleetSettings{Name: "b", JobNamespace: "ci-jobs", Runner: settings.RunnerSettings{Type: "instance_type"},
		Executor: settings.ExecutorSettings{PodSecurity: "restricted", AllowPrivilegeEscalation: ptr.To(true), RunAsNonRoot: ptr.To(false)}}.WithDefaults("t")
	err := checkAll(s, "fleets[0]").Err()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `fleets[0].executor.podSecurity: the job namespace "ci-jobs" enforces "restricted", which would reject every job pod`)
	assert.Contains(t, err.Error(), "allowPrivilegeEscalation != false")
	assert.Contains(t, err.Error(), "runAsNonRoot != true")
	assert.Contains(t, err.Error(), "(podSecurity: baseline)", "names the level these jobs pass")
}

// checkAll is every check of a fleet, as plan.Check composes them.
func checkAll(s settings.FleetSettings, path string) settings.Problems {
	return append(s.Validate(path), Check(s, path)...)
}

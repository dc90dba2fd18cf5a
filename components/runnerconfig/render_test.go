package runnerconfig_test

import (
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/runnerconfig"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

func TestGlobalConfigParsesBack(t *testing.T) {
	s := settings.FleetSettings{Name: "x", Runner: settings.RunnerSettings{Type: "instance_type"},
		Manager: settings.ManagerSettings{Concurrent: 7, LogLevel: "debug"}}.WithDefaults("test")
	text, err := runnerconfig.RenderGlobalConfig(s)
	require.NoError(t, err)

	var got map[string]any
	_, err = toml.Decode(text, &got)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"concurrent":       int64(7),
		"check_interval":   int64(3),
		"log_level":        "debug",
		"log_format":       "json",
		"listen_address":   ":9252",
		"shutdown_timeout": int64(30),
	}, got)
	assert.NotContains(t, text, "token")
}

func TestRunnerTemplateParsesBack(t *testing.T) {
	grace, cleanup := 60, 10
	e := settings.ExecutorSettings{
		Image:                            "golang:1.26",
		PullPolicy:                       []string{"always", "if-not-present"},
		Build:                            settings.ContainerResources{CPURequest: "1", CPULimit: "2", MemoryRequest: "1Gi", MemoryLimit: "4Gi"},
		ServiceAccount:                   "ci-jobs",
		NodeSelector:                     map[string]string{"pool": "ci"},
		Tolerations:                      []settings.Toleration{{Key: "ci", Value: "true", Effect: "NoSchedule"}, {Key: "spot", Operator: "Exists"}},
		PodLabels:                        map[string]string{"team": "platform"},
		PodAnnotations:                   map[string]string{"example.com/owner": "platform"},
		PodTerminationGracePeriodSeconds: &grace,
		CleanupGracePeriodSeconds:        &cleanup,
		FeatureFlags:                     map[string]bool{"FF_PRINT_POD_EVENTS": true},
	}
	s := settings.FleetSettings{Name: "x", JobNamespace: "ci-jobs-ns", Runner: settings.RunnerSettings{Type: "instance_type"}, Executor: e}.WithDefaults("test")
	text, err := runnerconfig.RenderRunnerTemplate(s)
	require.NoError(t, err)

	var got struct {
		Runners []struct {
			Executor     string          `toml:"executor"`
			FeatureFlags map[string]bool `toml:"feature_flags"`
			Kubernetes   map[string]any  `toml:"kubernetes"`
		} `toml:"runners"`
	}
	_, err = toml.Decode(text, &got)
	require.NoError(t, err)
	require.Len(t, got.Runners, 1)
	r := got.Runners[0]
	assert.Equal(t, "kubernetes", r.Executor)
	assert.Equal(t, map[string]bool{"FF_PRINT_POD_EVENTS": true, "FF_DISABLE_AUTOMATIC_TOKEN_ROTATION": true,
		"FF_KUBERNETES_HONOR_ENTRYPOINT": false, "FF_WAIT_FOR_POD_TO_BE_REACHABLE": false, "FF_CONCRETE": false,
		"FF_SUSPENDABLE_ENVIRONMENTS": false, "FF_USE_ADVANCED_POD_SPEC_CONFIGURATION": false}, r.FeatureFlags,
		"the user's flags, the runner's own token rotation off, and every flag a job must not choose pinned")
	k := r.Kubernetes
	assert.Equal(t, "ci-jobs-ns", k["namespace"])
	assert.Equal(t, "golang:1.26", k["image"])
	assert.Equal(t, false, k["privileged"])
	assert.Equal(t, []any{"always", "if-not-present"}, k["pull_policy"])
	assert.Equal(t, int64(3), k["poll_interval"])
	assert.Equal(t, int64(180), k["poll_timeout"])
	assert.Equal(t, "1", k["cpu_request"])
	assert.Equal(t, "2", k["cpu_limit"])
	assert.Equal(t, "1Gi", k["memory_request"])
	assert.Equal(t, "4Gi", k["memory_limit"])
	assert.Equal(t, "100m", k["service_cpu_request"], "default service resources")
	assert.Equal(t, "256Mi", k["helper_memory_limit"], "default helper resources")
	assert.Equal(t, "ci-jobs", k["service_account"])
	assert.Equal(t, map[string]any{"pool": "ci"}, k["node_selector"])
	assert.Equal(t, map[string]any{"ci=true": "NoSchedule", "spot": ""}, k["node_tolerations"])
	assert.Equal(t, map[string]any{"team": "platform"}, k["pod_labels"])
	assert.Equal(t, map[string]any{"example.com/owner": "platform"}, k["pod_annotations"])
	assert.Equal(t, int64(60), k["pod_termination_grace_period_seconds"])
	assert.Equal(t, int64(10), k["cleanup_grace_period_seconds"])
	assert.Equal(t, map[string]any{"exceeded quota": int64(28)}, k["retry_limits"],
		"a pod the quota refuses is retried for twice the cleanup grace period (10 s) and 30 s: 50 s")
	assert.Equal(t, true, k["print_pod_warning_events"])
	assert.Equal(t, true, k["automount_service_account_token"], "a job ServiceAccount chosen on purpose gets its token")
	assert.NotContains(t, text, "glrt-")
	assert.NotRegexp(t, `(?m)^\s*token\s*=`, text, "no token key")
}

// The session server listens on its port, and each manager advertises its
// own name through the fleet's headless Service (the entrypoint puts the
// pod's name in place of the placeholder).
func TestGlobalConfigSessionServer(t *testing.T) {
	s := settings.FleetSettings{Name: "builds", Runner: settings.RunnerSettings{Type: "instance_type"},
		Manager: settings.ManagerSettings{Pod: settings.ManagerPodSettings{SessionServer: &settings.SessionServerSettings{SessionTimeout: 600}}}}.WithDefaults("test")
	text, err := runnerconfig.RenderGlobalConfig(s)
	require.NoError(t, err)
	var got map[string]any
	_, err = toml.Decode(text, &got)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{
		"listen_address":    "[::]:8093",
		"advertise_address": "@POD_NAME@.builds.gitlab-runner-builds.svc:8093",
		"session_timeout":   int64(600),
	}, got["session_server"])
	assert.Empty(t, runnerconfig.UnsupportedRunnerKeys(runnerconfig.Global(s), s.RunnerVersion()), "keys the runner reads")

	s.Manager.Pod.SessionServer.AdvertiseAddress = "runner.example.com:443"
	assert.Equal(t, "runner.example.com:443", runnerconfig.Global(s).SessionServer.AdvertiseAddress)
}

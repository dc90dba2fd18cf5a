package runnerconfig_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/glrf/gitlab-runner-fleet/components/runnerconfig"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// groupFleet is a valid fleet; cases change one thing in it.
const groupFleet = `{"name":"builds","runner":{"type":"group_type","groupId":42,"tags":["docker"]}}`

// fleetWith returns the fleets setting holding groupFleet with extra JSON
// fields merged in at the top level (and one level down).
func fleetWith(t *testing.T, extra string) string {
	t.Helper()
	var base, more map[string]any
	require.NoError(t, json.Unmarshal([]byte(groupFleet), &base))
	require.NoError(t, json.Unmarshal([]byte(extra), &more))
	for k, v := range more {
		if sub, ok := v.(map[string]any); ok {
			if existing, ok := base[k].(map[string]any); ok {
				for sk, sv := range sub {
					existing[sk] = sv
				}
				continue
			}
		}
		base[k] = v
	}
	out, err := json.Marshal([]any{base})
	require.NoError(t, err)
	return string(out)
}

// checked decodes a one-fleet setting, completes it with defaults, requires
// its settings to be valid, and checks what the runner would receive.
func checked(t *testing.T, fleets string) settings.Problems {
	t.Helper()
	decoded, ps := settings.DecodeFleets(fleets)
	require.Empty(t, ps)
	require.Len(t, decoded, 1)
	s := decoded[0].WithDefaults("test")
	require.Empty(t, s.Validate("fleets[0]"), "the settings themselves are valid")
	return runnerconfig.Check(s, "fleets[0]")
}

// What the runner release would not read, or a job namespace would not
// admit, is refused before anything is created.
func TestRenderedConfigurationProblems(t *testing.T) {
	type tc struct {
		name   string
		fleets string
		want   []string
	}
	fleet := func(extra string) string { return fleetWith(t, extra) }
	cases := []tc{
		{"option newer than the runner", fleet(`{"manager":{"image":"registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v18.6.0"},"executor":{"podDisruptionBudget":true}}`),
			[]string{"fleets[0].executor: runners.kubernetes.pod_disruption_budget: config.toml key KubernetesConfig.pod_disruption_budget needs GitLab Runner 18.11 or later, but the managers run v18.6.0"}},
		{"feature flag newer than the runner", fleet(`{"manager":{"image":"registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v18.6.0"},"executor":{"featureFlags":{"FF_CONCRETE":true}}}`),
			[]string{"runners.feature_flags.FF_CONCRETE: feature flag FF_CONCRETE needs GitLab Runner 18.11 or later"}},
		{"restricted jobs that may escalate", fleet(`{"executor":{"podSecurity":"restricted","allowPrivilegeEscalation":true}}`),
			[]string{`fleets[0].executor.podSecurity: the job namespace "gitlab-runner-builds-jobs" enforces "restricted", which would reject every job pod`, "allowPrivilegeEscalation != false"}},
		{"extra config overriding the token", fleet(`{"executor":{"extraConfig":"token = \"glrt-x\""}}`), []string{"fleets[0].executor.extraConfig: token belongs to the fleet"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checked(t, c.fleets).Err()
			require.Error(t, err)
			for _, want := range c.want {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
	assert.Empty(t, checked(t, "["+groupFleet+"]"), "the default fleet renders what its runner reads, and its job pods pass")
}

// executor.extraConfig is judged with the rest: the job pod the fleet checks
// is built from the final [[runners]] entry (extraConfig merged), a key the
// model cannot judge is refused by name, credentials never enter the
// ConfigMap, and a privileged fleet's jobs stay on their node pool.
func TestExtraConfigIsJudgedFromTheFinalEntry(t *testing.T) {
	fleet := func(extra string) string { return fleetWith(t, extra) }
	extraConfig := func(toml string) string {
		data, err := json.Marshal(toml)
		require.NoError(t, err)
		return string(data)
	}
	const privileged = `"privileged":true,"podSecurity":"privileged","nodeSelector":{"pool":"docker"},"tolerations":[{"key":"docker","operator":"Exists","effect":"NoSchedule"}]`
	const nfs = "[[kubernetes.volumes.nfs]]\nname = \"shared\"\nmount_path = \"/shared\"\nserver = \"nfs.example.com\"\npath = \"/exports/ci\"\n"
	refused := []struct{ name, fleets, want string }{
		{"an NFS volume at the restricted level", fleet(`{"executor":{"podSecurity":"restricted","extraConfig":` + extraConfig(nfs) + `}}`),
			`restricted volume types (volume "shared" uses restricted volume type "nfs")`},
		{"a Kubernetes token", fleet(`{"executor":{"extraConfig":` + extraConfig("[kubernetes]\nbearer_token = \"x\"") + `}}`),
			"kubernetes.bearer_token would put a Kubernetes token in the configuration's ConfigMap"},
		{"another API server", fleet(`{"executor":{"extraConfig":` + extraConfig("[kubernetes]\nhost = \"https://other:6443\"") + `}}`),
			"kubernetes.host would put another API server than the managers' own in the configuration's ConfigMap"},
		{"the cache's secret key", fleet(`{"cache":{"type":"s3","existingSecret":"c","s3":{"bucketName":"b"}},"executor":{"extraConfig":` + extraConfig("[cache.s3]\nSecretKey = \"x\"") + `}}`),
			"cache.s3.SecretKey would put the cache's secret key"},
		{"pod affinity for privileged jobs", fleet(`{"executor":{` + privileged + `,"extraConfig":` + extraConfig("[kubernetes.affinity.pod_affinity]\n") + `}}`),
			"kubernetes.affinity could move this fleet's privileged jobs off their dedicated node pool"},
		{"a runtime class for privileged jobs", fleet(`{"executor":{` + privileged + `,"extraConfig":` + extraConfig("[kubernetes]\nruntime_class_name = \"runc\"") + `}}`),
			"kubernetes.runtime_class_name could move this fleet's privileged jobs"},
		{"container lifecycle hooks", fleet(`{"executor":{"extraConfig":` + extraConfig("[kubernetes.container_lifecycle.post_start.exec]\ncommand = [\"true\"]") + `}}`),
			"kubernetes.container_lifecycle would change the job pod in a way the fleet's model of it cannot judge"},
		{"pod anti-affinity", fleet(`{"executor":{"extraConfig":` + extraConfig("[kubernetes.affinity.pod_anti_affinity]\n") + `}}`),
			"kubernetes.affinity.pod_anti_affinity would change the job pod in a way the fleet's model of it cannot judge"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			err := checked(t, c.fleets).Err()
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	for name, extra := range map[string]string{
		"an NFS volume at the baseline level": nfs,
		"a runtime class":                     "[kubernetes]\nruntime_class_name = \"gvisor\"",
		"retries and timeouts":                "[kubernetes]\nretry_limit = 3\ncleanup_resources_timeout = \"10m\"",
		"a bound on a job's own pod request":  "[kubernetes]\npod_cpu_request_overwrite_max_allowed = \"2\"",
		"retries of other errors":             "[kubernetes.retry_limits]\n\"connection reset\" = 3",
	} {
		t.Run("allowed: "+name, func(t *testing.T) {
			assert.Empty(t, checked(t, fleet(`{"executor":{"extraConfig":`+extraConfig(extra)+`}}`)))
		})
	}
}

// What extraConfig adds is in the job pod the fleet checks.
func TestTheCheckedJobPodHoldsWhatExtraConfigAdds(t *testing.T) {
	s := settings.FleetSettings{Name: "b", Runner: settings.RunnerSettings{Type: "instance_type"}, Executor: settings.ExecutorSettings{
		ExtraConfig: "builds_dir = \"/work\"\n[kubernetes]\nruntime_class_name = \"gvisor\"\n[[kubernetes.volumes.nfs]]\nname = \"shared\"\nmount_path = \"/shared\"\nserver = \"nfs.example.com\"\npath = \"/ci\"\n",
	}}.WithDefaults("t")
	final, err := runnerconfig.FinalEntry(s)
	require.NoError(t, err)
	pod, err := runnerconfig.JobPod(final, s.RunnerVersion(), runnerconfig.JobPodOptions{})
	require.NoError(t, err)
	require.NotNil(t, pod.Spec.RuntimeClassName)
	assert.Equal(t, "gvisor", *pod.Spec.RuntimeClassName)
	assert.Equal(t, "shared", pod.Spec.Volumes[0].Name)
	require.NotNil(t, pod.Spec.Volumes[0].NFS)
	assert.Equal(t, "nfs.example.com", pod.Spec.Volumes[0].NFS.Server)
	assert.Contains(t, pod.Spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "repo", MountPath: "/work"})
}

// extraConfig's keys under [runners.monitoring] and [runners.referees] are
// checked against the runner's own keys like every other table (they were
// once accepted whole, a misspelt key with them).
func TestExtraConfigChecksMonitoringAndRefereesKeys(t *testing.T) {
	fleet := func(extra string) string {
		data, err := json.Marshal(extra)
		require.NoError(t, err)
		return fleetWith(t, `{"executor":{"extraConfig":`+string(data)+`}}`)
	}
	assert.Empty(t, checked(t, fleet("[[monitoring.job_queuing_durations]]\nperiods = [\"* * * * *\"]\nthreshold = \"5m\"\n")))
	assert.Empty(t, checked(t, fleet("[referees.metrics]\nprometheus_address = \"http://prometheus:9090\"\nquery_interval = 10\nqueries = []\n")))
	for extra, want := range map[string]string{
		"[[monitoring.job_queuing_durations]]\nthreshhold = \"5m\"\n": "monitoring.job_queuing_durations.threshhold: config.toml key [JobQueuingDuration] threshhold is not known",
		"[referees.metrics]\nprometheus_adress = \"http://p:9090\"\n": "referees.metrics.prometheus_adress: config.toml key [MetricsRefereeConfig] prometheus_adress is not known",
	} {
		err := checked(t, fleet(extra)).Err()
		require.Error(t, err, extra)
		assert.Contains(t, err.Error(), want)
	}
}

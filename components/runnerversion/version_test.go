package runnerversion_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/runnerversion"
)

func TestParseAndFromTag(t *testing.T) {
	for in, want := range map[string]string{"v19.3.0": "v19.3.0", "18.6.2": "v18.6.2"} {
		v, ok := runnerversion.Parse(in)
		require.True(t, ok, in)
		assert.Equal(t, want, v.String())
	}
	for _, in := range []string{"19", "v19.3", "latest", "v19.3.0-rc1"} {
		_, ok := runnerversion.Parse(in)
		assert.False(t, ok, in)
	}
	for tag, want := range map[string]string{"alpine-v19.3.0": "v19.3.0", "v18.6.2": "v18.6.2", "alpine3.21-v19.0.0": "v19.0.0", "ubuntu-v17.11.1": "v17.11.1"} {
		v, ok := runnerversion.FromTag(tag)
		require.True(t, ok, tag)
		assert.Equal(t, want, v.String())
	}
	for _, tag := range []string{"alpine-bleeding", "19.3.0", "alpine-v19.3", "prod"} {
		_, ok := runnerversion.FromTag(tag)
		assert.False(t, ok, tag)
	}
}

func TestAtLeastComparesMinorReleases(t *testing.T) {
	v := runnerversion.Version{Major: 18, Minor: 11, Patch: 2}
	assert.True(t, v.AtLeast(18, 11))
	assert.True(t, v.AtLeast(17, 20))
	assert.False(t, v.AtLeast(18, 12))
	assert.False(t, v.AtLeast(19, 0))
}

// The tables' answers, as the runner's git history has them.
func TestKeysAndFlagsByRelease(t *testing.T) {
	ok, why := runnerversion.KeyAvailable("KubernetesConfig", "pod_disruption_budget", runnerversion.Version{Major: 18, Minor: 6})
	assert.False(t, ok)
	assert.Equal(t, "config.toml key KubernetesConfig.pod_disruption_budget needs GitLab Runner 18.11 or later, but the managers run v18.6.0", why)
	ok, _ = runnerversion.KeyAvailable("KubernetesConfig", "pod_disruption_budget", runnerversion.Version{Major: 18, Minor: 11})
	assert.True(t, ok, "both arrived in 18.11")
	ok, _ = runnerversion.KeyAvailable("KubernetesConfig", "pod_disruption_budget", runnerversion.Version{Major: 20, Minor: 1})
	assert.True(t, ok, "a newer runner reads what the newest known one reads")

	ok, why = runnerversion.KeyAvailable("RunnerSettings", "pre_clone_script", runnerversion.Version{Major: 17})
	assert.False(t, ok)
	assert.Equal(t, "config.toml key RunnerSettings.pre_clone_script was removed after GitLab Runner 16.11, but the managers run v17.0.0", why)

	ok, why = runnerversion.FlagAvailable("FF_NOT_A_FLAG", runnerversion.NewestKnown)
	assert.False(t, ok)
	assert.Equal(t, "feature flag FF_NOT_A_FLAG is not known to any GitLab Runner release up to v19.3.0", why)
	ok, why = runnerversion.FlagAvailable(runnerversion.FFConcrete, runnerversion.Version{Major: 18, Minor: 6})
	assert.False(t, ok)
	assert.Equal(t, "feature flag FF_CONCRETE needs GitLab Runner 18.11 or later, but the managers run v18.6.0", why)
	for _, flag := range []string{runnerversion.FFDisableTokenRotation, runnerversion.FFAdvancedPodSpec, runnerversion.FFLegacyExecution,
		runnerversion.FFHonorEntrypoint, runnerversion.FFPrintPodEvents, runnerversion.FFWaitReachable, runnerversion.FFConcrete} {
		ok, why := runnerversion.FlagAvailable(flag, runnerversion.NewestKnown)
		assert.True(t, ok, why)
	}
	ok, _ = runnerversion.FlagAvailable(runnerversion.FFDisableTokenRotation, runnerversion.Minimum)
	assert.True(t, ok, "the oldest supported runner can turn its own token rotation off")
}

func TestNestedTablesAndEmbeddedStructs(t *testing.T) {
	assert.Contains(t, runnerversion.Embedded("RunnerConfig"), "RunnerSettings")
	assert.Contains(t, runnerversion.NestedTables("KubernetesConfig", "volumes"), "KubernetesVolumes")
	assert.Empty(t, runnerversion.NestedTables("KubernetesConfig", "node_selector"), "a map, not a table")
	assert.Contains(t, runnerversion.Embedded("DockerConfig"), "DockerCredentials", "[runners.docker] host comes from helpers/docker.Credentials")
	assert.Equal(t, []string{"MetricsRefereeConfig"}, runnerversion.NestedTables("RefereesConfig", "metrics"))
}

// Keys the table once lacked: docker-machine fields without a toml tag (read
// by their Go name), [runners.monitoring] and [runners.referees].
func TestKeysWithoutTagsAndOutsidePackageCommon(t *testing.T) {
	for _, key := range [][2]string{
		{"DockerMachine", "IdleCount"}, {"DockerMachineAutoscaling", "Periods"}, {"DockerCredentials", "host"},
		{"RefereesConfig", "metrics"}, {"MetricsRefereeConfig", "queries"},
		{"Monitoring", "job_queuing_durations"}, {"JobQueuingDuration", "threshold"},
	} {
		ok, why := runnerversion.KeyAvailable(key[0], key[1], runnerversion.NewestKnown)
		assert.True(t, ok, why)
	}
	ok, why := runnerversion.KeyAvailable("DockerMachine", "MachineOptionsWithName", runnerversion.Version{Major: 18, Minor: 5})
	assert.False(t, ok)
	assert.Equal(t, "config.toml key DockerMachine.MachineOptionsWithName needs GitLab Runner 18.6 or later, but the managers run v18.5.0", why)
}

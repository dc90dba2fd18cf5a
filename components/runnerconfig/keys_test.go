package runnerconfig

import (
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/runnerversion"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// Every key the fleet can render names a key of the runner's own config
// struct, as the runner's source history lists them: a misspelt key would be
// ignored by the runner without a word.
func TestEveryRenderedKeyIsARunnerKey(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] {
			return
		}
		seen[typ] = true
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			owner := f.Tag.Get("runner")
			require.NotEmpty(t, owner, "%s.%s has no runner tag", typ.Name(), f.Name)
			ok, why := runnerversion.KeyAvailable(owner, name, runnerversion.NewestKnown)
			assert.True(t, ok, "%s.%s: %s", typ.Name(), f.Name, why)
			walk(f.Type)
		}
	}
	walk(reflect.TypeOf(RunnerTemplate{}))
	walk(reflect.TypeOf(GlobalConfig{}))
	assert.Greater(t, len(seen), 5, "the walk reached the nested tables")
}

func TestUnsupportedRunnerKeys(t *testing.T) {
	s := settings.FleetSettings{Name: "b", Runner: settings.RunnerSettings{Type: "instance_type"},
		Executor: settings.ExecutorSettings{PodDisruptionBudget: true, FeatureFlags: map[string]bool{"FF_CONCRETE": true}}}.WithDefaults("t")
	template := RunnerTemplate{Runners: []RunnerConfig{Runner(s)}}

	assert.Empty(t, UnsupportedRunnerKeys(template, runnerversion.Version{Major: 19, Minor: 3, Patch: 0}))
	s1811 := s
	s1811.Manager.Image = "registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v18.11.0"
	assert.Empty(t, UnsupportedRunnerKeys(RunnerTemplate{Runners: []RunnerConfig{Runner(s1811)}}, runnerversion.Version{Major: 18, Minor: 11, Patch: 0}),
		"both arrived in 18.11, and the pinned flags are rendered for the release only")
	assert.Empty(t, UnsupportedRunnerKeys(template, runnerversion.Version{Major: 20, Minor: 1, Patch: 0}), "a newer runner reads what 19.3 reads")

	s.Manager.Image = "registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v18.6.0"
	old := UnsupportedRunnerKeys(RunnerTemplate{Runners: []RunnerConfig{Runner(s)}}, runnerversion.Version{Major: 18, Minor: 6, Patch: 0})
	assert.ElementsMatch(t, []string{
		"runners.kubernetes.pod_disruption_budget: config.toml key KubernetesConfig.pod_disruption_budget needs GitLab Runner 18.11 or later, but the managers run v18.6.0",
		"runners.feature_flags.FF_CONCRETE: feature flag FF_CONCRETE needs GitLab Runner 18.11 or later, but the managers run v18.6.0",
	}, old)

	ok, why := runnerversion.KeyAvailable("RunnerSettings", "pre_clone_script", runnerversion.Version{Major: 17, Minor: 0, Patch: 0})
	assert.False(t, ok)
	assert.Equal(t, "config.toml key RunnerSettings.pre_clone_script was removed after GitLab Runner 16.11, but the managers run v17.0.0", why)
	ok, _ = runnerversion.FlagAvailable("FF_NOT_A_FLAG", runnerversion.Version{Major: 19, Minor: 3, Patch: 0})
	assert.False(t, ok)
}

// Runners older than 18.11 have no seccomp_profile key: the profile comes
// through a pod_spec patch, which needs the advanced pod spec feature flag.
func TestSeccompRendersForTheRunnerVersion(t *testing.T) {
	s := settings.FleetSettings{Name: "b", Runner: settings.RunnerSettings{Type: "instance_type"}}.WithDefaults("t")
	modern := Runner(s)
	require.NotNil(t, modern.Kubernetes.PodSecurityContext.SeccompProfile)
	assert.Equal(t, "RuntimeDefault", modern.Kubernetes.PodSecurityContext.SeccompProfile.Type)
	assert.Empty(t, modern.Kubernetes.PodSpec)
	assert.Equal(t, false, modern.FeatureFlags[runnerversion.FFAdvancedPodSpec], "pinned off: no patch to apply, and no job turns it on")
	assert.Contains(t, modern.FeatureFlags, runnerversion.FFAdvancedPodSpec)

	s.Manager.Image = "registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v18.6.0"
	old := Runner(s)
	assert.Nil(t, old.Kubernetes.PodSecurityContext.SeccompProfile)
	require.Len(t, old.Kubernetes.PodSpec, 1)
	assert.JSONEq(t, `{"securityContext":{"seccompProfile":{"type":"RuntimeDefault"}}}`, old.Kubernetes.PodSpec[0].Patch)
	assert.True(t, old.FeatureFlags[runnerversion.FFAdvancedPodSpec])
	assert.Empty(t, UnsupportedRunnerKeys(RunnerTemplate{Runners: []RunnerConfig{old}}, runnerversion.Version{Major: 18, Minor: 6, Patch: 0}))
}

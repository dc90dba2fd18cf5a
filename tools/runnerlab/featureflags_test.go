package runnerlab_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/runnerconfig"
	"github.com/glrf/gitlab-runner-fleet/components/runnerversion"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
	"gitlab.com/gitlab-org/gitlab-runner/common"
	"gitlab.com/gitlab-org/gitlab-runner/common/spec"
)

// flagFleets are fleets that turn on, between them, every option that
// changes what the runner asks of the API server, beside the committed
// stacks.
func flagFleets() map[string]settings.FleetSettings {
	no := false
	fleet := func(e settings.ExecutorSettings) settings.FleetSettings {
		return settings.FleetSettings{Name: "flags", Runner: settings.RunnerSettings{Type: "group_type", GroupID: 1}, Executor: e}.WithDefaults("lab")
	}
	flags := func(names ...string) settings.ExecutorSettings {
		e := settings.ExecutorSettings{FeatureFlags: map[string]bool{}}
		for _, n := range names {
			e.FeatureFlags[n] = true
		}
		return e
	}
	out := map[string]settings.FleetSettings{
		"pod events":                      fleet(flags(runnerversion.FFPrintPodEvents)),
		"honor entrypoint":                fleet(flags(runnerversion.FFHonorEntrypoint)),
		"wait for reachable pods":         fleet(flags(runnerversion.FFWaitReachable)),
		"concrete":                        fleet(flags(runnerversion.FFConcrete)),
		"legacy execution":                fleet(flags(runnerversion.FFLegacyExecution)),
		"legacy execution, entrypoint":    fleet(flags(runnerversion.FFLegacyExecution, runnerversion.FFHonorEntrypoint)),
		"legacy execution, reachable":     fleet(flags(runnerversion.FFLegacyExecution, runnerversion.FFWaitReachable)),
		"no informers, no warning events": fleet(settings.ExecutorSettings{UseInformers: &no, PrintPodWarningEvents: &no}),
		"job PodDisruptionBudgets":        fleet(settings.ExecutorSettings{PodDisruptionBudget: true}),
	}
	return out
}

// everyFleet is every committed stack's fleets and flagFleets.
func everyFleet(t *testing.T) map[string]settings.FleetSettings {
	out := flagFleets()
	for _, f := range committedFleets(t) {
		out[f.String()] = f.Settings
	}
	return out
}

// A flag the configuration sets wins over the job's variables, in the
// runner's own build settings (common.NewBuild): a job cannot turn on a
// flag the fleet pins off, nor off one it turns on. The legacy execution
// strategy is left to jobs while the fleet leaves it off.
func TestTheConfigurationWinsOverJobVariables(t *testing.T) {
	for name, s := range everyFleet(t) {
		t.Run(name, func(t *testing.T) {
			entry := runnerEntry(t, s)
			for _, flag := range runnerconfig.PinnedFeatureFlags {
				// What the fleet means: its setting, off by default; the
				// pod spec patches apply when there are any.
				configured := s.Executor.FeatureFlags[flag]
				if flag == runnerversion.FFAdvancedPodSpec {
					configured = len(s.Executor.PodSpecPatches) > 0 || !s.RunnerVersion().AtLeast(18, 11)
				}
				for _, jobValue := range []bool{true, false} {
					job := sampleJob(s)
					job.Variables = append(job.Variables, spec.Variable{Key: flag, Value: fmt.Sprint(jobValue), Public: true})
					build, err := common.NewBuild(job, entry, nil, nil, nil)
					require.NoError(t, err)
					assert.Equal(t, configured, build.IsFeatureFlagOn(flag), "%s=%t in a job's variables", flag, jobValue)
				}
			}
			if _, set := entry.FeatureFlags[runnerversion.FFLegacyExecution]; !set {
				job := sampleJob(s)
				job.Variables = append(job.Variables, spec.Variable{Key: runnerversion.FFLegacyExecution, Value: "true", Public: true})
				build, err := common.NewBuild(job, entry, nil, nil, nil)
				require.NoError(t, err)
				assert.True(t, build.IsFeatureFlagOn(runnerversion.FFLegacyExecution), "a job may choose the exec strategy")
			}
		})
	}
}

package settings_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// The plan warns only where the runner in use may be cut off or a rotation
// waits: a rotating fleet whose cluster was not read, or whose managers still
// roll from the previous runner when a rotation is due.
func TestPlanRunnersWarnsWhereItMatters(t *testing.T) {
	hourly := settings.RunnerSettings{RotateEvery: "1h"}
	at := time.Unix(0, 0).Add(1000 * time.Hour)

	assert.Empty(t, settings.PlanRunners("builds", settings.RunnerSettings{}, at, nil).Warning, "no rotation: nothing to cut off")
	blind := settings.PlanRunners("builds", hourly, at, nil)
	assert.Contains(t, blind.Warning, "cannot read the cluster")
	assert.Equal(t, settings.RunnerSlot{Name: "builds-even", Trigger: "1000"}, blind.Current, "the periods alone")
	assert.Equal(t, settings.RunnerSlot{Name: "builds-odd", Trigger: "999"}, blind.Previous)

	rolling := &settings.LiveRunners{InUse: settings.RunnerSlot{Name: "builds-odd", Trigger: "999"}, Previous: settings.RunnerSlot{Name: "builds-even", Trigger: "998"}}
	waits := settings.PlanRunners("builds", hourly, at, rolling)
	assert.Contains(t, waits.Warning, "the token rotation waits")
	assert.Equal(t, rolling.InUse, waits.Current)
	assert.Equal(t, rolling.Previous, waits.Previous)
	for _, r := range waits.Runners {
		assert.NotEmpty(t, r.Note, "GitLab says why each runner is there")
		assert.LessOrEqual(t, len(r.Note), settings.RotationNoteReserve, "the room settings keep for it")
	}

	rolling.RolledOut = true
	rotates := settings.PlanRunners("builds", hourly, at, rolling)
	assert.Empty(t, rotates.Warning)
	assert.Equal(t, settings.RunnerSlot{Name: "builds-even", Trigger: "1000"}, rotates.Current)
	assert.Equal(t, rolling.InUse, rotates.Previous)
}

// A name the cluster shows that is not one of this fleet's runners (another
// fleet's, an edited annotation) counts as nothing in use: it is never
// registered as this fleet's.
func TestPlanRunnersIgnoresNamesOfOtherFleets(t *testing.T) {
	live := &settings.LiveRunners{InUse: settings.RunnerSlot{Name: "other-odd", Trigger: "7"}, Previous: settings.RunnerSlot{Name: "other-even", Trigger: "6"}}
	p := settings.PlanRunners("builds", settings.RunnerSettings{}, time.Unix(0, 0), live)
	assert.Equal(t, []settings.PlannedRunner{{RunnerSlot: settings.RunnerSlot{Name: "builds"}}}, p.Runners)
}

func TestRunnerSlotAnnotationRoundTrip(t *testing.T) {
	for _, r := range []settings.RunnerSlot{{Name: "builds"}, {Name: "builds-even", Trigger: "700"}} {
		assert.Equal(t, r, settings.ParseRunnerSlot(r.String()))
	}
}

package fleet_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/fleet"
	"github.com/glrf/gitlab-runner-fleet/components/plan"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
	"github.com/glrf/gitlab-runner-fleet/tests/mocks"
)

// rotationUp is what one `up` of a rotating fleet registers: its runners
// (name: replacement trigger) and the runner whose token the managers get.
type rotationUp struct {
	runners map[string]string
	inUse   string
	mocks   *mocks.Mocks
}

func upAt(t *testing.T, s settings.FleetSettings, now time.Time) rotationUp {
	t.Helper()
	plans, problems := plan.Plan([]settings.FleetSettings{s})
	require.NoError(t, problems.Err())
	m := &mocks.Mocks{}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := fleet.NewRunnerFleet(ctx, s.Name, &fleet.RunnerFleetArgs{
			Settings: s, GitlabURL: "https://gitlab.example.com/", Stack: &fleet.StackPart{CreateNamespaces: plans[0].Create},
			Now: func() time.Time { return now }, APIServer: testAPIServer,
		})
		return err
	}, pulumi.WithMocks("project", "stack", m))
	require.NoError(t, err)
	up := rotationUp{runners: map[string]string{}, mocks: m}
	for _, r := range m.OfType(tUserRunner) {
		up.runners[r.Name] = fmt.Sprint(r.ReplacementTrigger)
	}
	secret := m.Find(tSecret, s.Name+"-token")
	require.NotNil(t, secret)
	up.inUse = strings.TrimPrefix(mocks.String(secret.Inputs, "stringData", "runner-token"), "glrt-mock-")
	require.Contains(t, up.runners, up.inUse, "the managers' token is one of the fleet's runners'")
	return up
}

// deletedBy are the runners of prev that the engine deletes in the `up` that
// registers next: those not registered again, and those replaced (both
// triggers set and different, as the engine's shouldTriggerReplace).
func deletedBy(prev, next rotationUp) []string {
	var out []string
	for name, trigger := range prev.runners {
		if now, ok := next.runners[name]; !ok || (trigger != "<nil>" && now != "<nil>" && now != trigger) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// Rotation has no window in which no manager can take a job: the `up` that
// rotates gives the managers a new runner's token and keeps the runner they
// used until then (managers not yet rolled still poll with it), which is
// deleted only in the next period's `up`. GitLab shows two runners.
func TestRotationKeepsThePreviousRunnerForOnePeriod(t *testing.T) {
	s := groupFleet()
	s.Runner.RotateEvery = "30d"
	period := 30 * 24 * time.Hour
	start := time.Unix(0, 0).Add(700 * period).UTC() // the first instant of period 700

	first, later := upAt(t, s, start), upAt(t, s, start.Add(period-time.Second))
	assert.Equal(t, first.runners, later.runners, "the same period: nothing changes")
	assert.Empty(t, deletedBy(first, later))
	assert.Len(t, first.runners, 2, "the current period's runner and the previous one's")

	rotated := upAt(t, s, start.Add(period))
	assert.NotContains(t, deletedBy(first, rotated), first.inUse, "the runner the managers used is kept while they roll")
	assert.Equal(t, first.runners[first.inUse], rotated.runners[first.inUse], "and not replaced")
	assert.NotEqual(t, first.inUse, rotated.inUse, "the managers get another runner's token")
	assert.Contains(t, deletedBy(first, rotated), rotated.inUse, "a new runner (its slot replaced), so a new token")
	assert.Equal(t, "701", rotated.runners[rotated.inUse])

	next := upAt(t, s, start.Add(2*period))
	assert.Contains(t, deletedBy(rotated, next), first.inUse, "one period later the old runner is deleted")
	assert.NotContains(t, deletedBy(rotated, next), rotated.inUse)
	assert.Equal(t, first.inUse, next.inUse, "its slot now holds period 702's runner")

	// Every Kubernetes object waits for both runners: on destroy the pods go
	// before either.
	sts := next.mocks.Find(tStatefulSet, "builds")
	require.NotNil(t, sts)
	for name := range next.runners {
		assert.True(t, slices.ContainsFunc(sts.Dependencies, func(d string) bool { return strings.HasSuffix(d, tUserRunner+"::"+name) }), name)
	}
}

// The two slots alternate by the period's parity: each `up` registers the
// current period's runner and the previous one's, with their periods as
// replacement triggers.
func TestRotationSlotsAlternateByPeriod(t *testing.T) {
	s := groupFleet()
	s.Runner.RotateEvery = "1h"
	start := time.Unix(0, 0).Add(1000 * time.Hour).UTC()
	even, odd := upAt(t, s, start), upAt(t, s, start.Add(time.Hour))
	assert.Equal(t, map[string]string{"builds-even": "1000", "builds-odd": "999"}, even.runners)
	assert.Equal(t, "builds-even", even.inUse)
	assert.Equal(t, map[string]string{"builds-even": "1000", "builds-odd": "1001"}, odd.runners)
	assert.Equal(t, "builds-odd", odd.inUse)
}

// Turning rotation on replaces nothing: the current slot takes over the
// runner the fleet had (an alias of its name, and a trigger the engine does
// not compare with an unset one); its maintenance note names its period.
func TestTurningRotationOnKeepsTheRunner(t *testing.T) {
	plain := runFleet(t, false, groupFleet(), nil).Find(tUserRunner, "builds")
	require.NotNil(t, plain)
	assert.Nil(t, plain.ReplacementTrigger, "no rotation without rotateEvery")

	s := groupFleet()
	s.Runner.RotateEvery = "30d"
	s.Runner.MaintenanceNote = "owned by the platform team"
	up := upAt(t, s, time.Unix(0, 0).Add(700*30*24*time.Hour))
	current := up.mocks.Find(tUserRunner, up.inUse)
	require.NotNil(t, current)
	assert.Equal(t, []string{"builds"}, current.AliasNames, "the fleet's runner before rotation was turned on")
	note := mocks.String(current.Inputs, "maintenanceNote")
	assert.Equal(t, "owned by the platform team\ngitlab-runner-fleet: rotation period 700 (from 2027-07-01T00:00:00Z); replaced when period 702 begins", note)
	ours := strings.TrimPrefix(note, s.Runner.MaintenanceNote+"\n")
	assert.LessOrEqual(t, len(ours), settings.RotationNoteReserve, "the room settings keep for it")
	previous := up.mocks.Find(tUserRunner, "builds-odd")
	require.NotNil(t, previous)
	assert.Empty(t, previous.AliasNames)
}

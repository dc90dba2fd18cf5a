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
	// aliases are the names runners take over (turning rotation on).
	aliases []string
	inUse   string
	mocks   *mocks.Mocks
}

// upAt is an `up` that cannot read the cluster: rotation by the periods alone.
func upAt(t *testing.T, s settings.FleetSettings, now time.Time) rotationUp {
	t.Helper()
	return upLive(t, s, now, nil)
}

// upLive is an `up` that read live from the cluster first, as the program does.
func upLive(t *testing.T, s settings.FleetSettings, now time.Time, live *settings.LiveRunners) rotationUp {
	t.Helper()
	plans, problems := plan.Plan([]settings.FleetSettings{s})
	require.NoError(t, problems.Err())
	m := &mocks.Mocks{}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := fleet.NewRunnerFleet(ctx, s.Name, &fleet.RunnerFleetArgs{
			Settings: s, GitlabURL: "https://gitlab.example.com/", Stack: &fleet.StackPart{CreateNamespaces: plans[0].Create},
			Now: func() time.Time { return now }, APIServer: testAPIServer, Runners: live,
		})
		return err
	}, pulumi.WithMocks("project", "stack", m))
	require.NoError(t, err)
	up := rotationUp{runners: map[string]string{}, mocks: m}
	for _, r := range m.OfType(tUserRunner) {
		up.runners[r.Name] = fmt.Sprint(r.ReplacementTrigger)
		up.aliases = append(up.aliases, r.AliasNames...)
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
		now, ok := next.runners[name]
		if (!ok && !slices.Contains(next.aliases, name)) || (ok && trigger != "<nil>" && now != "<nil>" && now != trigger) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// Without the cluster read (the fallback), rotation follows the periods
// alone: the `up` that rotates gives the managers a new runner's token and
// keeps the runner they used until then (managers not yet rolled still poll
// with it), which is deleted only in the next period's `up`. GitLab shows two
// runners. This holds only with an `up` in every period (see the tests with
// the cluster read below).
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
	assert.Equal(t, "owned by the platform team\ngitlab-runner-fleet: rotation period 700 (from 2027-07-01T00:00:00Z)", note)
	ours := strings.TrimPrefix(note, s.Runner.MaintenanceNote+"\n")
	assert.LessOrEqual(t, len(ours), settings.RotationNoteReserve, "the room settings keep for it")
	previous := up.mocks.Find(tUserRunner, "builds-odd")
	require.NotNil(t, previous)
	assert.Empty(t, previous.AliasNames)
}

// liveAfter is what the program reads from the cluster after up: the
// annotations up put on the StatefulSet, and whether every manager has
// rolled to its template (the test's choice: the rollout takes its time).
func liveAfter(t *testing.T, up rotationUp, rolledOut bool) *settings.LiveRunners {
	t.Helper()
	sts := up.mocks.Find(tStatefulSet, "builds")
	require.NotNil(t, sts)
	inUse := mocks.String(sts.Inputs, "spec", "template", "metadata", "annotations", settings.RunnerAnnotation)
	require.NotEmpty(t, inUse, "the pod template names the runner whose token it mounts")
	live := &settings.LiveRunners{InUse: settings.ParseRunnerSlot(inUse), RolledOut: rolledOut}
	if prev := mocks.String(sts.Inputs, "metadata", "annotations", settings.PreviousRunnerAnnotation); prev != "" {
		live.Previous = settings.ParseRunnerSlot(prev)
	}
	require.Equal(t, up.inUse, live.InUse.Name, "the annotation names the runner of the token Secret")
	require.Equal(t, strings.TrimPrefix(up.runners[up.inUse], "<nil>"), live.InUse.Trigger, "and its trigger (none: \"\")")
	return live
}

// firstDeploy is the first `up` of a rotating fleet: the cluster has no
// StatefulSet yet, so nothing is in use and one runner is made.
func firstDeploy(t *testing.T, s settings.FleetSettings, now time.Time) rotationUp {
	t.Helper()
	up := upLive(t, s, now, &settings.LiveRunners{})
	require.Len(t, up.runners, 1, "nothing to keep on a first deploy")
	return up
}

const thirtyDays = 30 * 24 * time.Hour

func startOf(w int64) time.Time { return time.Unix(0, 0).Add(time.Duration(w) * thirtyDays).UTC() }

// A rotation with the cluster read puts the new runner in the slot the
// managers do not use and keeps theirs; that one is deleted by the first
// `up` that reads the rollout complete, not before.
func TestRotationKeepsTheRunnerInUseUntilTheRollout(t *testing.T) {
	s := groupFleet()
	s.Runner.RotateEvery = "30d"
	first := firstDeploy(t, s, startOf(700))
	assert.Equal(t, map[string]string{"builds-even": "700"}, first.runners)

	again := upLive(t, s, startOf(700).Add(time.Hour), liveAfter(t, first, true))
	assert.Equal(t, first.runners, again.runners, "the same period: nothing changes")
	assert.Equal(t, first.inUse, again.inUse)

	rotated := upLive(t, s, startOf(701), liveAfter(t, first, true))
	assert.Empty(t, deletedBy(first, rotated), "the runner in use is kept while the managers roll")
	assert.Equal(t, map[string]string{"builds-even": "700", "builds-odd": "701"}, rotated.runners)
	assert.Equal(t, "builds-odd", rotated.inUse, "the managers get the new runner's token")
	previous := rotated.mocks.Find(tUserRunner, "builds-even")
	require.NotNil(t, previous)
	note := mocks.String(previous.Inputs, "maintenanceNote")
	assert.Contains(t, note, "previous runner", "GitLab says which runner is on its way out")
	assert.LessOrEqual(t, len(note), settings.RotationNoteReserve, "the room settings keep for it")

	rolling := upLive(t, s, startOf(701).Add(time.Hour), liveAfter(t, rotated, false))
	assert.Empty(t, deletedBy(rotated, rolling), "managers still roll: the previous runner stays")
	assert.Equal(t, rotated.runners, rolling.runners)

	rolled := upLive(t, s, startOf(701).Add(2*time.Hour), liveAfter(t, rolling, true))
	assert.Equal(t, []string{"builds-even"}, deletedBy(rolling, rolled), "every manager runs the new token: the previous runner goes")
	assert.Equal(t, map[string]string{"builds-odd": "701"}, rolled.runners)

	// The same inputs give the same answer.
	twice := upLive(t, s, startOf(701).Add(2*time.Hour), liveAfter(t, rolling, true))
	assert.Equal(t, rolled.runners, twice.runners)
	assert.Equal(t, rolled.inUse, twice.inUse)
}

// After two periods without an `up`, the period's parity names the slot in
// use: by the periods alone that runner would be replaced. Read from the
// cluster, it survives.
func TestRotationAfterAGapKeepsTheRunnerInUse(t *testing.T) {
	s := groupFleet()
	s.Runner.RotateEvery = "30d"
	first := firstDeploy(t, s, startOf(700))

	gap := upLive(t, s, startOf(702), liveAfter(t, first, true))
	assert.NotContains(t, deletedBy(first, gap), first.inUse, "the runner in use survives the gap")
	assert.Equal(t, first.runners[first.inUse], gap.runners[first.inUse], "and is not replaced")
	assert.NotEqual(t, first.inUse, gap.inUse, "the managers get a new runner's token")
	assert.Equal(t, "702", gap.runners[gap.inUse])

	// By the periods alone (the cluster unread), the same `up` replaces the
	// runner in use: the case the fleet warns about.
	blind := upAt(t, s, startOf(702))
	assert.Contains(t, deletedBy(first, blind), first.inUse)
}

// Rotation turned off keeps the runner the managers use (a slot's runner
// stays the fleet's runner), and the previous one until the rollout.
func TestTurningRotationOffKeepsTheRunnerInUse(t *testing.T) {
	s := groupFleet()
	s.Runner.RotateEvery = "30d"
	first := firstDeploy(t, s, startOf(700))
	rotated := upLive(t, s, startOf(701), liveAfter(t, first, true))
	require.Equal(t, "builds-odd", rotated.inUse)

	off := groupFleet()
	stillRolling := upLive(t, off, startOf(701).Add(time.Hour), liveAfter(t, rotated, false))
	assert.Empty(t, deletedBy(rotated, stillRolling), "neither runner a manager may use goes")
	assert.Equal(t, "builds-odd", stillRolling.inUse)

	rolled := upLive(t, off, startOf(701).Add(2*time.Hour), liveAfter(t, stillRolling, true))
	assert.Equal(t, []string{"builds-even"}, deletedBy(stillRolling, rolled), "only the previous runner, once every manager rolled")
	assert.Equal(t, "builds-odd", rolled.inUse)
	assert.Equal(t, "701", rolled.runners["builds-odd"], "its trigger unchanged: not replaced")

	later := upLive(t, off, startOf(710), liveAfter(t, rolled, true))
	assert.Equal(t, rolled.runners, later.runners, "without rotation nothing changes with time")
}

// A new rotateEvery renumbers the periods: the runner in use is not the
// current period's, so the next one goes in the other slot; the one in use
// survives.
func TestChangingRotateEveryKeepsTheRunnerInUse(t *testing.T) {
	s := groupFleet()
	s.Runner.RotateEvery = "30d"
	first := firstDeploy(t, s, startOf(700))

	hourly := groupFleet()
	hourly.Runner.RotateEvery = "1h"
	changed := upLive(t, hourly, startOf(700).Add(time.Hour), liveAfter(t, first, true))
	assert.Empty(t, deletedBy(first, changed), "the runner in use survives")
	assert.Equal(t, "builds-odd", changed.inUse)
	assert.Equal(t, fmt.Sprint(settings.RotationWindow(startOf(700).Add(time.Hour), time.Hour)), changed.runners["builds-odd"])

	blind := upAt(t, hourly, startOf(700).Add(time.Hour))
	assert.Contains(t, deletedBy(first, blind), first.inUse, "by the periods alone it would be replaced")
}

// Turning rotation on with the cluster read replaces nothing: the current
// slot takes over the fleet's runner, which the managers go on using.
func TestTurningRotationOnWithTheClusterReadKeepsTheRunner(t *testing.T) {
	plain := upLive(t, groupFleet(), startOf(700), &settings.LiveRunners{})
	require.Equal(t, map[string]string{"builds": "<nil>"}, plain.runners)

	s := groupFleet()
	s.Runner.RotateEvery = "30d"
	on := upLive(t, s, startOf(701), liveAfter(t, plain, true))
	assert.Empty(t, deletedBy(plain, on))
	assert.Equal(t, []string{"builds"}, on.aliases)
	assert.Len(t, on.runners, 1)
}

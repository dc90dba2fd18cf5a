package settings

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Annotations that record, in the cluster, which runners a fleet's managers
// use: the program reads them before `up` registers anything (LiveRunners),
// so that a rotation never replaces a runner a manager still polls with.
const (
	// RunnerAnnotation, on the manager pods' template, names the runner
	// whose token the template mounts: "<resource name>@<trigger>" (the
	// trigger left out when the runner has none).
	RunnerAnnotation = "gitlab-runner-fleet/runner"
	// PreviousRunnerAnnotation, on the StatefulSet itself (not the
	// template, so that dropping it rolls no pod), names the runner the
	// managers used before, kept until they have all rolled.
	PreviousRunnerAnnotation = "gitlab-runner-fleet/previous-runner"
)

// RunnerSlot is one of a fleet's runners in GitLab as the stack names it:
// its resource name (<fleet>, <fleet>-even or <fleet>-odd) and its
// replacement trigger (the rotation period's number; "" for none).
type RunnerSlot struct {
	Name, Trigger string
}

// String is the slot as the annotations hold it.
func (r RunnerSlot) String() string {
	if r.Trigger == "" {
		return r.Name
	}
	return r.Name + "@" + r.Trigger
}

// ParseRunnerSlot reads an annotation's value (see RunnerAnnotation).
func ParseRunnerSlot(v string) RunnerSlot {
	name, trigger, _ := strings.Cut(v, "@")
	return RunnerSlot{Name: name, Trigger: trigger}
}

// LiveRunners is what the cluster shows of a fleet's runners before `up`.
// Nil means it could not be read: PlanRunners then falls back to the
// rotation periods alone.
type LiveRunners struct {
	// InUse is the runner the managers' pod template names; zero when the
	// fleet has no StatefulSet yet (nothing is in use).
	InUse RunnerSlot
	// Previous is the runner the managers used before InUse, recorded on
	// the StatefulSet; zero when none is kept.
	Previous RunnerSlot
	// RolledOut: every manager runs the current pod template, so none
	// polls with Previous's token any more.
	RolledOut bool
}

// PlannedRunner is a runner an `up` registers.
type PlannedRunner struct {
	RunnerSlot
	// AliasOfFleet: the runner takes over the one named after the fleet
	// (turning rotation on replaces nothing).
	AliasOfFleet bool
	// Note is the fleet's line in the runner's maintenance note ("": none).
	Note string
}

// RunnerPlan is which runners a fleet registers in one `up`. A runner of the
// state that is not in Runners is deleted by that `up`; one whose trigger
// changed is replaced (created anew, the old one deleted at the end).
type RunnerPlan struct {
	Runners []PlannedRunner
	// Current is the runner whose token the managers get (Runners[0]).
	Current RunnerSlot
	// Previous is the other runner kept for managers not yet rolled; zero
	// when none.
	Previous RunnerSlot
	// Warning, when set, says why this plan may cut managers off, or why a
	// rotation waits; the component logs it.
	Warning string
}

// PlanRunners decides a fleet's runners from its rotation setting, the
// clock and what the cluster shows. The same inputs give the same plan.
//
// With the cluster read (live not nil), the runner the managers use is never
// replaced or deleted in the `up` that creates its successor, whatever
// happened in between (periods without an `up`, rotation turned on or off,
// rotateEvery changed):
//   - a rotation (the runner in use is not the current period's) puts the
//     new runner in the other slot, and keeps the one in use as Previous;
//   - Previous is deleted by the first `up` that reads RolledOut (no
//     manager runs an older template); until then it is kept;
//   - a rotation due while managers still roll from Previous waits for the
//     next `up`: both slots are in use, neither may go;
//   - with rotation off, the runner in use stays the fleet's runner.
//
// Without it (live nil: no access, as in a preview without credentials), it
// falls back to the periods alone: period w's runner in slot w%2, period
// w-1's in the other. That is safe only with an `up` in every period and
// rotateEvery unchanged; Warning says so for a rotating fleet.
func PlanRunners(fleet string, r RunnerSettings, now time.Time, live *LiveRunners) RunnerPlan {
	period, rotating := r.RotationPeriod()
	plain := RunnerSlot{Name: fleet}
	if live == nil {
		if !rotating {
			return single(plain, "")
		}
		w := RotationWindow(now, period)
		p := single(periodSlot(fleet, w), periodNote(w, period))
		p.Runners[0].AliasOfFleet = true
		p.Previous = periodSlot(fleet, w-1)
		p.Runners = append(p.Runners, PlannedRunner{RunnerSlot: p.Previous, Note: periodNote(w-1, period)})
		p.Warning = "cannot read the cluster to learn which runner the managers use; rotating by the periods alone, which replaces the runner in use if no `up` ran in the last period or rotateEvery changed"
		return p
	}
	inUse := live.InUse
	if !isFleetRunner(fleet, inUse.Name) {
		inUse = RunnerSlot{} // nothing deployed, or a name this fleet never used
	}
	var kept *PlannedRunner // the previous runner, while managers may use it
	if prev := live.Previous; isFleetRunner(fleet, prev.Name) && prev.Name != inUse.Name && inUse.Name != "" && !live.RolledOut {
		kept = &PlannedRunner{RunnerSlot: prev, Note: previousNote}
	}
	withKept := func(p RunnerPlan) RunnerPlan {
		if kept != nil {
			p.Previous = kept.RunnerSlot
			p.Runners = append(p.Runners, *kept)
		}
		return p
	}
	if !rotating {
		if inUse.Name == "" {
			return single(plain, "")
		}
		// Rotation off (or never on): the runner in use stays, trigger and all.
		return withKept(single(inUse, ""))
	}
	w := RotationWindow(now, period)
	current := periodSlot(fleet, w)
	switch {
	case inUse.Name == "" || inUse.Name == fleet:
		// Nothing yet, or rotation turned on: the current slot takes over
		// the fleet's runner (an alias; an unset trigger is not compared).
		p := single(current, periodNote(w, period))
		p.Runners[0].AliasOfFleet = true
		return withKept(p)
	case inUse.Trigger == current.Trigger:
		// This period's runner is in use already.
		return withKept(single(inUse, periodNote(w, period)))
	case kept != nil:
		// Both slots are in use: the rotation waits for the rollout.
		p := withKept(single(inUse, waitingNote))
		p.Warning = fmt.Sprintf("the token rotation waits: managers still roll from runner %s to %s; the first `up` once every manager runs %s rotates", kept.Name, inUse.Name, inUse.Name)
		return p
	default:
		// Rotate: the new runner goes in the slot the managers do not use.
		next := RunnerSlot{Name: otherSlot(fleet, inUse.Name), Trigger: current.Trigger}
		p := single(next, periodNote(w, period))
		p.Previous = inUse
		p.Runners = append(p.Runners, PlannedRunner{RunnerSlot: inUse, Note: previousNote})
		return p
	}
}

// previousNote is the maintenance note's line of a runner kept for managers
// not yet rolled.
const previousNote = "gitlab-runner-fleet: previous runner, deleted by the first `up` after every manager runs the new one"

// waitingNote is the line of the runner in use when its rotation waits for
// the managers' rollout from the previous one.
const waitingNote = "gitlab-runner-fleet: the managers' runner; its rotation waits until they have all rolled to it"

func single(r RunnerSlot, note string) RunnerPlan {
	return RunnerPlan{Runners: []PlannedRunner{{RunnerSlot: r, Note: note}}, Current: r}
}

// periodNote is the maintenance note's line of rotation period w's runner.
func periodNote(w int64, period time.Duration) string {
	return fmt.Sprintf("gitlab-runner-fleet: rotation period %d (from %s)", w, time.Unix(0, w*int64(period)).UTC().Format(time.RFC3339))
}

// periodSlot is the slot of rotation period w: one of two, by its parity.
func periodSlot(fleet string, w int64) RunnerSlot {
	name := fleet + "-odd"
	if w%2 == 0 {
		name = fleet + "-even"
	}
	return RunnerSlot{Name: name, Trigger: strconv.FormatInt(w, 10)}
}

// otherSlot is the slot a new runner takes when the managers use inUse.
func otherSlot(fleet, inUse string) string {
	if inUse == fleet+"-even" {
		return fleet + "-odd"
	}
	return fleet + "-even"
}

func isFleetRunner(fleet, name string) bool {
	return name == fleet || name == fleet+"-even" || name == fleet+"-odd"
}

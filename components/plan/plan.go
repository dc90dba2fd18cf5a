// Package plan is the one entry point from a stack's settings to what each
// fleet creates: decode (settings.DecodeFleets), defaults
// (settings.FleetSettings.WithDefaults), every check of the settings
// (settings.FleetSettings.Validate) and of the configuration rendered from
// them (runnerconfig.Check), and the plan across fleets (settings.PlanFleets).
// Nothing is to be registered unless it reports no problem.
//
// It imports no Pulumi package: the program and the component both use it.
package plan

import (
	"github.com/glrf/gitlab-runner-fleet/components/runnerconfig"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// Fleets decodes the `fleets` stack setting of stack, completes each fleet
// with its defaults, checks everything and plans the fleets together. The
// plans hold every decoded fleet, even with problems, so that further
// checks (the stack settings fleets name) find them at their index.
func Fleets(raw, stack string) ([]settings.FleetPlan, settings.Problems) {
	decoded, ps := settings.DecodeFleets(raw)
	fleets := make([]settings.FleetSettings, len(decoded))
	for i, f := range decoded {
		fleets[i] = f.WithDefaults(stack)
	}
	plans, problems := Plan(fleets)
	return plans, append(ps, problems...)
}

// Plan checks fleets already decoded and defaulted, one by one and
// together, and plans them.
func Plan(fleets []settings.FleetSettings) ([]settings.FleetPlan, settings.Problems) {
	plans, ps := settings.PlanFleets(fleets)
	for i, f := range fleets {
		ps = append(ps, runnerconfig.Check(f, settings.FleetPath(i, f.Name))...)
	}
	return plans, ps
}

// Check checks one fleet's (defaulted) settings and the configuration
// rendered from them; path locates the fleet, e.g. "fleets[0]".
func Check(s settings.FleetSettings, path string) settings.Problems {
	return append(s.Validate(path), runnerconfig.Check(s, path)...)
}

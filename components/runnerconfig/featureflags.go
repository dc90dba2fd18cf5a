package runnerconfig

import (
	"github.com/glrf/gitlab-runner-fleet/components/runnerversion"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// PinnedFeatureFlags are the feature flags every fleet renders, for the
// releases that have them: as executor.featureFlags sets them, else false.
//
// GitLab Runner takes a flag that config.toml leaves unset from the job's
// variables (common/build_settings.go), so a .gitlab-ci.yml could turn it
// on. These flags change what the runner asks of the API server, or skip
// what keeps job pods inside the fleet's guarantees, so a job must not
// choose them: with the flag in config.toml, the configuration wins.
//
//	FF_PRINT_POD_EVENTS                     watches the job pod's events (events watch)
//	FF_KUBERNETES_HONOR_ENTRYPOINT          reads and follows the build container's log
//	                                        (pods/log get, list; pods watch), and with the
//	                                        legacy strategy adds a startup probe
//	FF_WAIT_FOR_POD_TO_BE_REACHABLE         reads the helper's log (pods/log get)
//	FF_CONCRETE                             runs the job as steps (pods/log get, pods/exec),
//	                                        through step-runner
//	FF_SUSPENDABLE_ENVIRONMENTS             PVCs, ConfigMaps and namespaces, CAP_SYS_ADMIN
//	                                        in the build container (refused by the settings)
//	FF_USE_ADVANCED_POD_SPEC_CONFIGURATION  applies the pod_spec patches: on when the fleet
//	                                        renders any (seccomp on older runners,
//	                                        executor.podSpecPatches), so that no job skips them
//
// FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY is not pinned while off: the
// exec strategy a job may choose with it needs a subset of the Role's
// rights (no attach, no log reads); turned on in executor.featureFlags, it is
// rendered true, and the Role grants no attach.
var PinnedFeatureFlags = []string{
	runnerversion.FFPrintPodEvents,
	runnerversion.FFHonorEntrypoint,
	runnerversion.FFWaitReachable,
	runnerversion.FFConcrete,
	runnerversion.FFSuspendable,
	runnerversion.FFAdvancedPodSpec,
}

// renderedFlags are the feature flags of a fleet's [[runners]] entry before
// its capabilities' parts: executor.featureFlags, the flags the fleet owns
// (settings.OwnedFeatureFlags), and every pinned flag the release has.
func renderedFlags(s settings.FleetSettings) map[string]bool {
	flags := map[string]bool{}
	for name, on := range s.Executor.FeatureFlags {
		flags[name] = on
	}
	for name, on := range settings.OwnedFeatureFlags {
		flags[name] = on
	}
	v := s.RunnerVersion()
	for _, name := range PinnedFeatureFlags {
		if _, set := flags[name]; !set {
			if ok, _ := runnerversion.FlagAvailable(name, v); ok {
				flags[name] = false
			}
		}
	}
	return flags
}

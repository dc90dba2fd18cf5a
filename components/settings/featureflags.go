package settings

import (
	"maps"
	"regexp"
	"slices"

	"github.com/glrf/gitlab-runner-fleet/components/runnerversion"
)

// OwnedFeatureFlags are set on every fleet's runners; settings may not
// change them (runnerconfig renders them, and refuses them in extraConfig).
var OwnedFeatureFlags = map[string]bool{
	// The stack rotates the runner token (runner.rotateEvery): a manager that
	// rotates it itself keeps the new token only in its own memory, so every
	// other replica, every restarted pod and the Secret keep a dead token
	// (commands/multi.go, resetOneRunnerToken).
	runnerversion.FFDisableTokenRotation: true,
}

var (
	featureFlagRe = regexp.MustCompile(`^FF_[A-Z0-9_]+$`)
	// Feature flags whose permissions this project does not grant: they need
	// configmaps, PVCs and namespaces in the job namespace.
	unsupportedFeatureFlags = []string{"FF_SUSPENDABLE_ENVIRONMENTS"}
)

// checkFeatureFlags checks executor.featureFlags: names only (whether the
// runner release knows a flag is runnerconfig's check of what it renders).
func checkFeatureFlags(ps *Problems, path string, flags map[string]bool) {
	for _, name := range slices.Sorted(maps.Keys(flags)) {
		owned, isOwned := OwnedFeatureFlags[name]
		switch {
		case !featureFlagRe.MatchString(name):
			ps.Add(path, "%q is not a feature flag name (FF_ followed by capitals, digits or '_')", name)
		case slices.Contains(unsupportedFeatureFlags, name) && flags[name]:
			ps.Add(path, "%s needs configmaps, PVCs and namespaces in the job namespace, which this project does not grant; remove it", name)
		case isOwned && owned != flags[name]:
			ps.Add(path, "%s is set to %t by the fleet: the stack rotates the runner token (runner.rotateEvery), a manager must not; remove it", name, owned)
		}
	}
}

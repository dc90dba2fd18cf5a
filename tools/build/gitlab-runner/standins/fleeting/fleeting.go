// Package fleeting is a compile-only stand-in for
// gitlab.com/gitlab-org/fleeting/fleeting v0.0.0-20260818191615-630980b76a04,
// which the Go proxy refuses.
//
// fleeting runs the cloud plugins that provision instances for the
// docker-autoscaler and instance executors (executors/internal/autoscaler),
// and connects to those instances. Every function and method fails: those
// that return an error return a refusal.Error, the others panic with one; the
// rest is types and constants.
//
// A Kubernetes-executor manager never reaches it: the autoscaler provider is
// built only for the docker-autoscaler and instance executors, and its
// plugins start only when such a runner takes a job; the fleet renders only
// `executor = "kubernetes"`.
package fleeting

import (
	"gitlab.com/gitlab-org/fleeting/fleeting/internal/standin"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"
)

// Cause says why an instance is in the group.
type Cause string

// CausePreexisted marks an instance that was there before the runner.
const CausePreexisted Cause = "preexisted"

// PluginOption configures a plugin.
type PluginOption func()

// Runner is a running plugin.
type Runner struct{}

// WithPluginLogger refuses.
func WithPluginLogger(any) PluginOption {
	standin.Module.Panic("fleeting.WithPluginLogger")
	return nil
}

// RunPlugin refuses: no plugin can run.
func RunPlugin(string, []byte, ...PluginOption) (*Runner, error) {
	return nil, standin.Module.Err("fleeting.RunPlugin")
}

// InstanceGroup refuses.
func (*Runner) InstanceGroup() provider.InstanceGroup {
	standin.Module.Panic("fleeting.Runner.InstanceGroup")
	return nil
}

// Kill refuses.
func (*Runner) Kill() {
	standin.Module.Panic("fleeting.Runner.Kill")
}

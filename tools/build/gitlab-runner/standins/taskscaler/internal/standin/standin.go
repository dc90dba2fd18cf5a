// Package standin names this stand-in in its refusals.
package standin

import "gitlab-runner-fleet/tools/build/gitlab-runner/standins/refusal"

// Module is the refused module this stand-in replaces.
var Module = refusal.Module{
	Path:    "gitlab.com/gitlab-org/fleeting/taskscaler",
	Version: "v0.0.0-20260805120041-8295dd4d1775",
	Feature: "the taskscaler (docker-autoscaler and instance executors, Kubernetes autoscaler periods)",
}

// Package standin names this stand-in in its refusals.
package standin

import "gitlab-runner-fleet/tools/build/gitlab-runner/standins/refusal"

// Module is the refused module this stand-in replaces.
var Module = refusal.Module{
	Path:    "gitlab.com/gitlab-org/fleeting/fleeting",
	Version: "v0.0.0-20260818191615-630980b76a04",
	Feature: "fleeting instance groups (docker-autoscaler and instance executors)",
}

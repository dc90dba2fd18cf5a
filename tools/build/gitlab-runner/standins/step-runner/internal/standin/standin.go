// Package standin names this stand-in in its refusals.
package standin

import "gitlab-runner-fleet/tools/build/gitlab-runner/standins/refusal"

// Module is the refused module this stand-in replaces.
var Module = refusal.Module{
	Path:    "gitlab.com/gitlab-org/step-runner",
	Version: "v0.44.0",
	Feature: "step-runner (native steps with `run:`, FF_CONCRETE, job inputs, the `steps` command)",
}

// Package standin names this stand-in in its refusals.
package standin

import "gitlab-runner-fleet/tools/build/gitlab-runner/standins/refusal"

// Module is the refused module this stand-in replaces.
var Module = refusal.Module{
	Path:    "gitlab.com/gitlab-org/moa",
	Version: "v0.0.0-20260427132849-fad5ad756fe7",
	Feature: "moa templates (job inputs, FF_CONCRETE)",
}

// Package standin names this stand-in in its refusals.
package standin

import "gitlab-runner-fleet/tools/build/gitlab-runner/standins/refusal"

// Module is the refused module this stand-in replaces.
var Module = refusal.Module{
	Path:    "gitlab.com/gitlab-org/labkit/v2",
	Version: "v2.29.2",
	Feature: "snowplow_billing usage logging (usage billing)",
}

// Compile-only stand-in for gitlab.com/gitlab-org/fleeting/taskscaler, which
// the Go proxy refuses; see taskscaler.go.
module gitlab.com/gitlab-org/fleeting/taskscaler

go 1.26.6

require (
	gitlab-runner-fleet/tools/build/gitlab-runner/standins/refusal v0.0.0
	gitlab.com/gitlab-org/fleeting/fleeting v0.0.0-20260818191615-630980b76a04
)

// Compile-only stand-in for gitlab.com/gitlab-org/fleeting/nesting, which the
// Go proxy refuses; see api/api.go.
module gitlab.com/gitlab-org/fleeting/nesting

go 1.26.6

require gitlab-runner-fleet/tools/build/gitlab-runner/standins/refusal v0.0.0

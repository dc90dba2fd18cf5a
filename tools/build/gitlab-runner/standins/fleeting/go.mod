// Compile-only stand-in for gitlab.com/gitlab-org/fleeting/fleeting, which
// the Go proxy refuses; see doc.go.
module gitlab.com/gitlab-org/fleeting/fleeting

go 1.26.6

require gitlab-runner-fleet/tools/build/gitlab-runner/standins/refusal v0.0.0

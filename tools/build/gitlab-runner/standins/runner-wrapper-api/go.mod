// Compile-only stand-in for gitlab.com/gitlab-org/gitlab-runner/helpers/runner_wrapper/api,
// which the Go proxy refuses; see api.go.
module gitlab.com/gitlab-org/gitlab-runner/helpers/runner_wrapper/api

go 1.26.6

require gitlab-runner-fleet/tools/build/gitlab-runner/standins/refusal v0.0.0

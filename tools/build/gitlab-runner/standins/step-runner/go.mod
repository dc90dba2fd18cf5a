// Compile-only stand-in for gitlab.com/gitlab-org/step-runner, which the Go
// proxy refuses; see doc.go.
module gitlab.com/gitlab-org/step-runner

go 1.26.6

require (
	gitlab-runner-fleet/tools/build/gitlab-runner/standins/refusal v0.0.0
	gitlab.com/gitlab-org/moa v0.0.0-20260427132849-fad5ad756fe7
	google.golang.org/protobuf v1.36.12
)

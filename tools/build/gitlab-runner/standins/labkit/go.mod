// Compile-only stand-in for gitlab.com/gitlab-org/labkit/v2, which the Go
// proxy refuses; see doc.go.
module gitlab.com/gitlab-org/labkit/v2

go 1.26.6

require (
	github.com/prometheus/client_golang v1.23.2
	gitlab-runner-fleet/tools/build/gitlab-runner/standins/refusal v0.0.0
)

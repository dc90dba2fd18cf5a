// Compile-only stand-in for gitlab.com/gitlab-org/fleeting/taskscaler/metrics/prometheus,
// which the Go proxy refuses; see prometheus.go.
module gitlab.com/gitlab-org/fleeting/taskscaler/metrics/prometheus

go 1.26.6

require gitlab-runner-fleet/tools/build/gitlab-runner/standins/refusal v0.0.0

// Package prometheus is a compile-only stand-in for
// gitlab.com/gitlab-org/fleeting/taskscaler/metrics/prometheus
// v0.0.0-20260805120041-8295dd4d1775, which the Go proxy refuses: the
// Prometheus metrics of the taskscaler. Every function panics with a
// refusal.Error.
//
// A Kubernetes-executor manager never reaches it: the runner builds these
// metrics only when a docker-autoscaler or instance runner starts its
// taskscaler (executors/internal/autoscaler/provider.go); the fleet renders
// only `executor = "kubernetes"`.
package prometheus

import "gitlab-runner-fleet/tools/build/gitlab-runner/standins/refusal"

var module = refusal.Module{
	Path:    "gitlab.com/gitlab-org/fleeting/taskscaler/metrics/prometheus",
	Version: "v0.0.0-20260805120041-8295dd4d1775",
	Feature: "taskscaler metrics (docker-autoscaler and instance executors)",
}

// Option configures a Collector.
type Option func()

// Collector would export taskscaler metrics.
type Collector struct{}

// New refuses.
func New(...Option) *Collector {
	module.Panic("prometheus.New")
	return nil
}

// WithConstLabels refuses.
func WithConstLabels(map[string]string) Option {
	module.Panic("prometheus.WithConstLabels")
	return nil
}

// WithInstanceReadinessTimeBuckets refuses.
func WithInstanceReadinessTimeBuckets([]float64) Option {
	module.Panic("prometheus.WithInstanceReadinessTimeBuckets")
	return nil
}

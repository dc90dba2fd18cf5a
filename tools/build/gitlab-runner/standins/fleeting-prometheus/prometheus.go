// Package prometheus is a compile-only stand-in for
// gitlab.com/gitlab-org/fleeting/fleeting/metrics/prometheus
// v0.0.0-20260818191615-630980b76a04, which the Go proxy refuses: the
// Prometheus metrics of fleeting instance groups. Every function panics with
// a refusal.Error.
//
// A Kubernetes-executor manager never reaches it: the runner builds these
// metrics only when a docker-autoscaler or instance runner starts its
// instance group (executors/internal/autoscaler/provider.go); the fleet
// renders only `executor = "kubernetes"`.
package prometheus

import "gitlab-runner-fleet/tools/build/gitlab-runner/standins/refusal"

var module = refusal.Module{
	Path:    "gitlab.com/gitlab-org/fleeting/fleeting/metrics/prometheus",
	Version: "v0.0.0-20260818191615-630980b76a04",
	Feature: "fleeting instance group metrics (docker-autoscaler and instance executors)",
}

// Option configures a Collector.
type Option func()

// Collector would export instance group metrics.
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

// WithInstanceCreationTimeBuckets refuses.
func WithInstanceCreationTimeBuckets([]float64) Option {
	module.Panic("prometheus.WithInstanceCreationTimeBuckets")
	return nil
}

// WithInstanceIsRunningTimeBuckets refuses.
func WithInstanceIsRunningTimeBuckets([]float64) Option {
	module.Panic("prometheus.WithInstanceIsRunningTimeBuckets")
	return nil
}

// WithInstanceDeletionTimeBuckets refuses.
func WithInstanceDeletionTimeBuckets([]float64) Option {
	module.Panic("prometheus.WithInstanceDeletionTimeBuckets")
	return nil
}

// WithInstanceLifeDurationBuckets refuses.
func WithInstanceLifeDurationBuckets([]float64) Option {
	module.Panic("prometheus.WithInstanceLifeDurationBuckets")
	return nil
}

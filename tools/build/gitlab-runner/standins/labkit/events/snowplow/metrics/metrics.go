// Package metrics is the stand-in for the snowplow emitter's Prometheus
// collector options.
package metrics

import "gitlab.com/gitlab-org/labkit/v2/internal/standin"

// CollectorOption configures the emitter's collector.
type CollectorOption func()

// WithCollectorNamespace fails: see the package labkit doc.
func WithCollectorNamespace(string) CollectorOption {
	standin.Module.Panic("metrics.WithCollectorNamespace")
	return nil
}

// WithCollectorBatchDeliveryDurationBuckets fails: see the package labkit doc.
func WithCollectorBatchDeliveryDurationBuckets([]float64) CollectorOption {
	standin.Module.Panic("metrics.WithCollectorBatchDeliveryDurationBuckets")
	return nil
}

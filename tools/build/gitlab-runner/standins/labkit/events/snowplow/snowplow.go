// Package snowplow is the stand-in for labkit's Snowplow billing events.
package snowplow

import (
	"github.com/prometheus/client_golang/prometheus"

	"gitlab.com/gitlab-org/labkit/v2/events/snowplow/metrics"
	"gitlab.com/gitlab-org/labkit/v2/events/snowplow/oidc"
	"gitlab.com/gitlab-org/labkit/v2/internal/standin"
)

// SendResult is the outcome of one delivery to the collector.
type SendResult struct {
	EventCount int
	StatusCode int
	Err        error
}

// SendCallback receives delivery outcomes.
type SendCallback func(successes []SendResult, failures []SendResult)

// EmitterOption configures an Emitter.
type EmitterOption func()

// Emitter would deliver events to a Snowplow collector.
type Emitter struct{}

// Tracker would build billing events for an Emitter.
type Tracker struct{}

// BillingEventRequiredInput is a billing event's mandatory part.
type BillingEventRequiredInput struct {
	Category      string
	EventType     string
	Realm         string
	UnitOfMeasure string
	Quantity      float64
}

// BillingEventOptionalInput is a billing event's optional part.
type BillingEventOptionalInput struct {
	Subject          string
	DeploymentType   string
	Metadata         map[string]any
	InstanceID       string
	UniqueInstanceID string
	ProjectID        int64
	NamespaceID      int64
	RootNamespaceID  int64
	OrganizationID   int64
}

// WithCallback fails: see the package labkit doc.
func WithCallback(SendCallback) EmitterOption {
	standin.Module.Panic("snowplow.WithCallback")
	return nil
}

// WithTokenSource fails: see the package labkit doc.
func WithTokenSource(*oidc.Source) EmitterOption {
	standin.Module.Panic("snowplow.WithTokenSource")
	return nil
}

// WithMetricsCollectorOptions fails: see the package labkit doc.
func WithMetricsCollectorOptions(...metrics.CollectorOption) EmitterOption {
	standin.Module.Panic("snowplow.WithMetricsCollectorOptions")
	return nil
}

// NewEmitter fails: see the package labkit doc.
func NewEmitter(string, ...EmitterOption) (*Emitter, error) {
	return nil, standin.Module.Err("snowplow.NewEmitter")
}

// Collector fails: see the package labkit doc.
func (*Emitter) Collector() prometheus.Collector {
	standin.Module.Panic("snowplow.Emitter.Collector")
	return nil
}

// NewTracker fails: see the package labkit doc.
func NewTracker(string, *Emitter) (*Tracker, error) {
	return nil, standin.Module.Err("snowplow.NewTracker")
}

// TrackBillingEventWithOptionalInput fails: see the package labkit doc.
func (*Tracker) TrackBillingEventWithOptionalInput(BillingEventRequiredInput, BillingEventOptionalInput) error {
	return standin.Module.Err("snowplow.Tracker.TrackBillingEventWithOptionalInput")
}

// Stop fails: see the package labkit doc.
func (*Tracker) Stop() {
	standin.Module.Panic("snowplow.Tracker.Stop")
}

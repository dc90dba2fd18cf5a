// Package taskscaler is a compile-only stand-in for
// gitlab.com/gitlab-org/fleeting/taskscaler v0.0.0-20260805120041-8295dd4d1775,
// which the Go proxy refuses.
//
// The runner uses it in two places: the docker-autoscaler and instance
// executors scale fleeting instance groups with it
// (executors/internal/autoscaler), and the Kubernetes executor's pause-pod
// autoscaler parses its policies' periods with its cron package
// (executors/kubernetes/autoscaler/policy.go). Every function and method
// fails: those that return an error return a refusal.Error, the others panic
// with one; the rest is types and constants.
//
// A Kubernetes-executor manager with this project's configs never reaches
// it: the fleet renders only `executor = "kubernetes"`, and no
// [runners.kubernetes.autoscaler] (the pause-pod manager starts only for a
// configured autoscaler with at least one policy, see
// executors/kubernetes/autoscaler/provider.go ensureManager).
package taskscaler

import (
	"context"
	"errors"
	"time"

	"gitlab.com/gitlab-org/fleeting/fleeting"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"
	"gitlab.com/gitlab-org/fleeting/taskscaler/internal/standin"
	"gitlab.com/gitlab-org/fleeting/taskscaler/storage"
)

// ErrNoCapacity is returned when no instance has room for a task.
var ErrNoCapacity = errors.New("no capacity")

// Taskscaler schedules tasks onto instances.
type Taskscaler interface {
	Acquire(ctx context.Context, key string) (Acquisition, error)
	ConfigureSchedule(schedules ...Schedule) error
	FleetingMetricsCollector() any
	HasCapability(capability provider.Capability) bool
	MetricsCollector() any
	Release(key string)
	Reserve(key string) error
	Resume(ctx context.Context, key string) (Acquisition, error)
	Shutdown(ctx context.Context)
	Suspend(key string) error
	Unreserve(key string)
}

// Acquisition is a task's slot on an instance.
type Acquisition interface {
	InstanceConnectInfo(ctx context.Context) (provider.ConnectInfo, error)
	Slot() int
	WithContext(ctx context.Context) (context.Context, context.CancelFunc)
}

// Schedule is one autoscaling policy.
type Schedule struct {
	Periods          []string
	Timezone         string
	IdleCount        int
	IdleTime         time.Duration
	ScaleFactor      float64
	ScaleFactorLimit int
	PreemptiveMode   bool
}

// UpFuncInstance is an instance becoming ready.
type UpFuncInstance struct {
	Info         provider.ConnectInfo
	Cause        fleeting.Cause
	Restored     bool
	Acquisitions []string
}

// UpFunc readies an instance.
type UpFunc func(ts Taskscaler, instance UpFuncInstance) error

// HeartbeatFunc checks an instance.
type HeartbeatFunc func(ctx context.Context, info provider.ConnectInfo) error

// Option configures a Taskscaler.
type Option func()

// New refuses: no taskscaler can run.
func New(context.Context, provider.InstanceGroup, ...Option) (Taskscaler, error) {
	return nil, standin.Module.Err("taskscaler.New")
}

func refuse(call string) Option {
	standin.Module.Panic(call)
	return nil
}

// WithReservations refuses.
func WithReservations() Option { return refuse("taskscaler.WithReservations") }

// WithReservationThrottling refuses.
func WithReservationThrottling() Option { return refuse("taskscaler.WithReservationThrottling") }

// WithDeleteInstancesOnShutdown refuses.
func WithDeleteInstancesOnShutdown() Option {
	return refuse("taskscaler.WithDeleteInstancesOnShutdown")
}

// WithCapacityPerInstance refuses.
func WithCapacityPerInstance(int) Option { return refuse("taskscaler.WithCapacityPerInstance") }

// WithMaxUseCount refuses.
func WithMaxUseCount(int) Option { return refuse("taskscaler.WithMaxUseCount") }

// WithMaxInstances refuses.
func WithMaxInstances(int) Option { return refuse("taskscaler.WithMaxInstances") }

// WithInstanceGroupSettings refuses.
func WithInstanceGroupSettings(provider.Settings) Option {
	return refuse("taskscaler.WithInstanceGroupSettings")
}

// WithMetricsCollector refuses.
func WithMetricsCollector(any) Option { return refuse("taskscaler.WithMetricsCollector") }

// WithFleetingMetricsCollector refuses.
func WithFleetingMetricsCollector(any) Option {
	return refuse("taskscaler.WithFleetingMetricsCollector")
}

// WithInstanceUpFunc refuses.
func WithInstanceUpFunc(UpFunc) Option { return refuse("taskscaler.WithInstanceUpFunc") }

// WithHeartbeatFunc refuses.
func WithHeartbeatFunc(HeartbeatFunc) Option { return refuse("taskscaler.WithHeartbeatFunc") }

// WithUpdateInterval refuses.
func WithUpdateInterval(time.Duration) Option { return refuse("taskscaler.WithUpdateInterval") }

// WithUpdateIntervalWhenExpecting refuses.
func WithUpdateIntervalWhenExpecting(time.Duration) Option {
	return refuse("taskscaler.WithUpdateIntervalWhenExpecting")
}

// WithDeletionRetryInterval refuses.
func WithDeletionRetryInterval(time.Duration) Option {
	return refuse("taskscaler.WithDeletionRetryInterval")
}

// WithShutdownDeletionInterval refuses.
func WithShutdownDeletionInterval(time.Duration) Option {
	return refuse("taskscaler.WithShutdownDeletionInterval")
}

// WithShutdownDeletionRetries refuses.
func WithShutdownDeletionRetries(int) Option {
	return refuse("taskscaler.WithShutdownDeletionRetries")
}

// WithFailureThreshold refuses.
func WithFailureThreshold(int) Option { return refuse("taskscaler.WithFailureThreshold") }

// WithLogger refuses.
func WithLogger(any) Option { return refuse("taskscaler.WithLogger") }

// WithScaleThrottle refuses.
func WithScaleThrottle(limit, burst int) Option { return refuse("taskscaler.WithScaleThrottle") }

// WithStorage refuses.
func WithStorage(storage.Storage) Option { return refuse("taskscaler.WithStorage") }

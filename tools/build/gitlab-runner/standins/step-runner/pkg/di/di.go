// Package di is the stand-in for step-runner's service container.
package di

import (
	"log/slog"

	"gitlab.com/gitlab-org/step-runner/internal/standin"
	"gitlab.com/gitlab-org/step-runner/pkg/runner"
)

// Container wires a step-runner service.
type Container struct{}

// WithBuiltinFunc refuses.
func WithBuiltinFunc(string, runner.BuiltinFunction) func(*Container) {
	standin.Module.Panic("di.WithBuiltinFunc")
	return nil
}

// WithOperatorLogger refuses.
func WithOperatorLogger(*slog.Logger) func(*Container) {
	standin.Module.Panic("di.WithOperatorLogger")
	return nil
}

// NewContainer refuses.
func NewContainer(...func(*Container)) *Container {
	standin.Module.Panic("di.NewContainer")
	return nil
}

// StepRunnerService refuses.
func (*Container) StepRunnerService() (any, error) {
	return nil, standin.Module.Err("di.Container.StepRunnerService")
}

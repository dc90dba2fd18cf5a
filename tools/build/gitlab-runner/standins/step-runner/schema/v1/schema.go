// Package schema is the stand-in for step-runner's step definitions: the
// shape the runner's code builds, refusing to be encoded or decoded.
package schema

import "gitlab.com/gitlab-org/step-runner/internal/standin"

// Step is one CI step.
type Step struct {
	Name   *string
	Step   string
	Inputs StepInputs
	Run    []Step
}

// StepInputs are a step's inputs by name.
type StepInputs map[string]any

// UnmarshalJSON refuses: a job payload with `run:` steps is refused here.
func (*Step) UnmarshalJSON([]byte) error {
	return standin.Module.Err("schema.Step.UnmarshalJSON")
}

// MarshalJSON refuses.
func (Step) MarshalJSON() ([]byte, error) {
	return nil, standin.Module.Err("schema.Step.MarshalJSON")
}

// UnmarshalYAML refuses (the form of yaml.v3's obsolete Unmarshaler that
// needs no yaml import).
func (*Step) UnmarshalYAML(func(any) error) error {
	return standin.Module.Err("schema.Step.UnmarshalYAML")
}

// MarshalYAML refuses.
func (Step) MarshalYAML() (any, error) {
	return nil, standin.Module.Err("schema.Step.MarshalYAML")
}

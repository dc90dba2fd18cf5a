// Package proto is the stand-in for step-runner's gRPC API: the step
// specification types the runner's builtins declare, and the server
// registration that fails.
package proto

import "gitlab.com/gitlab-org/step-runner/internal/standin"

// ValueType is an input's type.
type ValueType int32

// The input types the runner's builtins declare.
const (
	ValueType_string ValueType = iota + 1
	ValueType_boolean
	ValueType_array
)

// Spec is a step's specification.
type Spec struct {
	Spec *Spec_Content
}

// Spec_Content is the body of a Spec.
type Spec_Content struct {
	Inputs map[string]*Spec_Content_Input
}

// Spec_Content_Input declares one input.
type Spec_Content_Input struct {
	Type      ValueType
	Default   any
	Sensitive bool
}

// GetSpec refuses.
func (*Spec) GetSpec() *Spec_Content {
	standin.Module.Panic("proto.Spec.GetSpec")
	return nil
}

// GetInputs refuses.
func (*Spec_Content) GetInputs() map[string]*Spec_Content_Input {
	standin.Module.Panic("proto.Spec_Content.GetInputs")
	return nil
}

// RegisterStepRunnerServer refuses: no step-runner service can be served.
func RegisterStepRunnerServer(registrar, service any) {
	standin.Module.Panic("proto.RegisterStepRunnerServer")
}

// Package client is the stand-in for step-runner's client types: the request
// and status shapes the runner's code builds and reads.
package client

import (
	"time"

	"gitlab.com/gitlab-org/step-runner/internal/standin"
)

// RunRequest asks step-runner to run steps.
type RunRequest struct {
	Id        string
	Timeout   *time.Duration
	WorkDir   string
	BuildDir  string
	Env       map[string]string
	Steps     string
	Variables []Variable
}

// Variable is a job variable passed to the steps.
type Variable struct {
	Key    string
	Value  string
	File   bool
	Masked bool
}

// State is a run's state.
type State int

// The states the runner's code compares against.
const (
	StateUnknown State = iota
	StateSuccess
	StateCancelled
)

// String refuses: the runner names a state only after a run, and no run
// can happen.
func (State) String() string {
	standin.Module.Panic("client.State.String")
	return ""
}

// ErrorKind classifies a failed run.
type ErrorKind int

// The error kinds the runner maps to failure reasons.
const (
	ErrorUnknown ErrorKind = iota
	ErrorInternal
	ErrorStepFailure
	ErrorCancelled
	ErrorTimeout
)

// Status is a finished run's outcome.
type Status struct {
	State     State
	Message   string
	ErrorKind ErrorKind
}

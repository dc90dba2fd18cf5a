// Package moa is a compile-only stand-in for gitlab.com/gitlab-org/moa
// v0.0.0-20260427132849-fad5ad756fe7, which the Go proxy refuses.
//
// moa is the ${{ }} template language of job inputs and CI steps. The runner
// uses it to decode job inputs from the job payload (value.Value), to parse
// and evaluate ${{ inputs.* }} in job fields (ParseTemplate, with
// step-runner's expression package), and to escape the FF_CONCRETE step's
// configuration (EscapeTemplate). Every function and method fails: those that
// return an error return a refusal.Error, the others panic with one. A job
// payload with any input refuses to be decoded: the runner's job request
// fails as a client error naming this stand-in, and the job does not start.
//
// One call succeeds: value.Object, which spec.NewJobInputs calls for every
// job payload with an `inputs` key, even an empty one; the value it returns
// fails when used.
//
// A Kubernetes-executor manager with this project's configs never reaches the
// rest: no job the lab sends has inputs (Inputs.Expand returns before
// parsing when there are none), and FF_CONCRETE is off (default false, not
// rendered).
package moa

import (
	"gitlab.com/gitlab-org/moa/ast"
	"gitlab.com/gitlab-org/moa/internal/standin"
)

// ParseTemplate refuses.
func ParseTemplate(string) (ast.Expr, error) {
	return nil, standin.Module.Err("moa.ParseTemplate")
}

// EscapeTemplate refuses.
func EscapeTemplate(string) string {
	standin.Module.Panic("moa.EscapeTemplate")
	return ""
}

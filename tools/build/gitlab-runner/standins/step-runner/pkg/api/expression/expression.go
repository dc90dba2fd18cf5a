// Package expression is the stand-in for step-runner's ${{ }} expression
// evaluator, which the runner uses for job inputs.
package expression

import (
	"gitlab.com/gitlab-org/moa/ast"
	"gitlab.com/gitlab-org/moa/value"
	"gitlab.com/gitlab-org/step-runner/internal/standin"
)

// Sensitive marks a value that must not be interpolated.
const Sensitive uint16 = 1

// Input is one job input.
type Input struct {
	Key   string
	Value value.Value
}

// Evaluator evaluates expressions over the job's inputs.
type Evaluator struct{}

// NewEvaluator succeeds: spec.NewJobInputs calls it for every job payload
// that carries an `inputs` key, even an empty one. The evaluator refuses to
// evaluate; the runner evaluates only when the job has inputs, and a job with
// inputs is already refused when its payload is decoded (value.Value).
func NewEvaluator(value.Value) (*Evaluator, error) {
	return &Evaluator{}, nil
}

// Eval refuses.
func (*Evaluator) Eval(string, ast.Expr) (value.Value, error) {
	return value.Value{}, standin.Module.Err("expression.Evaluator.Eval")
}

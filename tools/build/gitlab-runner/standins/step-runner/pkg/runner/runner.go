// Package runner is the stand-in for step-runner's builtin-function API: the
// interfaces the runner's builtins (concrete, script_legacy) implement and
// use. Nothing here runs them: only the refused di container would.
package runner

import (
	"context"
	"io"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"gitlab.com/gitlab-org/step-runner/proto"
)

// Kind is the kind of an input value.
type Kind int

// The kinds the runner's builtins ask for.
const (
	KindString Kind = iota + 1
	KindBool
	KindList
)

// BuiltinResult is a builtin's outcome.
type BuiltinResult struct{}

// BuiltinFunction is a step implemented in Go.
type BuiltinFunction interface {
	Spec() *proto.Spec
	Run(ctx context.Context, builtinCtx BuiltinContext) (BuiltinResult, error)
}

// BuiltinContext is what step-runner hands a builtin.
type BuiltinContext interface {
	GetInput(name string, kind Kind) (*structpb.Value, error)
	GetInputWithDefault(name string, kind Kind, inputs map[string]*proto.Spec_Content_Input) (*structpb.Value, error)
	GetJobVars() map[string]*structpb.Value
	GetEnvs() map[string]string
	GetEnvList() []string
	Pipe() (stdout, stderr io.Writer)
	WorkDir() string
	GracefulExitDelay() time.Duration
	ListenCancel(ctx context.Context) (context.Context, context.CancelFunc)
}

// Package api is a compile-only stand-in for
// gitlab.com/gitlab-org/gitlab-runner/helpers/runner_wrapper/api v0.1.1, a
// module nested in the runner's repository that the Go proxy refuses. It is
// the gRPC API of `gitlab-runner wrapper`, a process that supervises
// `gitlab-runner run` for an outside controller (status, graceful and
// forceful shutdown, a shutdown callback). The stand-in keeps the status
// values and errors the wrapper's own code uses as data; every function and
// method fails: those that return an error return a refusal.Error, the others
// panic with one. `gitlab-runner wrapper` therefore stops at server.New.
//
// A Kubernetes-executor manager with this project's configs never reaches
// it: the entrypoint runs `gitlab-runner register` and then
// `gitlab-runner run` directly (components/entrypoint.sh); nothing runs
// `gitlab-runner wrapper`.
package api

import (
	"context"
	"errors"

	"gitlab-runner-fleet/tools/build/gitlab-runner/standins/refusal"
)

// Module is the refused module this stand-in replaces (shared with package
// server).
var Module = refusal.Module{
	Path:    "gitlab.com/gitlab-org/gitlab-runner/helpers/runner_wrapper/api",
	Version: "v0.1.1",
	Feature: "the `gitlab-runner wrapper` gRPC API",
}

// Status is the wrapped process's state.
type Status int64

// The states the wrapper's code sets.
const (
	StatusUnknown Status = iota
	StatusRunning
	StatusInShutdown
	StatusStopped
)

// String refuses: only the refused gRPC server reports a status.
func (Status) String() string {
	Module.Panic("api.Status.String")
	return ""
}

// ErrProcessNotInitialized is returned before the wrapped process started.
var ErrProcessNotInitialized = errors.New("process not initialized")

// ShutdownCallbackDef describes a callback to call after shutdown.
type ShutdownCallbackDef interface {
	URL() string
	Method() string
	Headers() map[string]string
}

// InitGracefulShutdownRequest asks for a graceful shutdown.
type InitGracefulShutdownRequest interface {
	ShutdownCallbackDef() ShutdownCallbackDef
}

// ShutdownCallback calls back after shutdown.
type ShutdownCallback interface {
	Run(ctx context.Context)
}

// NewShutdownCallback refuses.
func NewShutdownCallback(any, ShutdownCallbackDef) ShutdownCallback {
	Module.Panic("api.NewShutdownCallback")
	return nil
}

// Package refusal is how every compile-only stand-in of tools/build/gitlab-runner
// says that it was reached: one error type, so that a log line or a panic
// names the stand-in, the module the Go proxy refuses, the call, and the
// runner feature that led there, and so that tests can recognise it.
package refusal

import "fmt"

// Module is a module the Go proxy refuses, replaced by a stand-in in this
// build. Feature names the runner features that use it, as users know them.
type Module struct {
	Path    string // e.g. gitlab.com/gitlab-org/moa
	Version string // the version the runner's go.mod asks for
	Feature string // e.g. "job inputs"
}

// Error is what a stand-in returns (or panics with) when it is called.
type Error struct {
	Module Module
	Call   string // the stand-in's function or method, e.g. "moa.ParseTemplate"
}

func (e *Error) Error() string {
	return fmt.Sprintf("gitlab-runner-fleet stand-in for %s@%s: %s was called, but this runner build has no %s "+
		"(the Go proxy refuses the module, so tools/build/gitlab-runner compiles a stand-in in its place)",
		e.Module.Path, e.Module.Version, e.Call, e.Module.Feature)
}

// Err is the error for a call to the stand-in of m.
func (m Module) Err(call string) error {
	return &Error{Module: m, Call: call}
}

// Panic stops the program for a call that has no error to return.
func (m Module) Panic(call string) {
	panic(m.Err(call))
}

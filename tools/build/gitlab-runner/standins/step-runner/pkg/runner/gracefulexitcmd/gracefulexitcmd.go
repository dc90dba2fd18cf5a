// Package gracefulexitcmd is the stand-in for step-runner's command runner
// (SIGTERM, then SIGKILL after a delay); it runs nothing.
package gracefulexitcmd

import (
	"context"
	"os/exec"
	"time"

	"gitlab.com/gitlab-org/step-runner/internal/standin"
)

// Cmd is an exec.Cmd with a graceful stop.
type Cmd struct {
	exec.Cmd
}

// New refuses.
func New(context.Context, time.Duration, string, ...string) *Cmd {
	standin.Module.Panic("gracefulexitcmd.New")
	return nil
}

// Run refuses (it shadows exec.Cmd.Run, so nothing can start the command).
func (*Cmd) Run() error {
	return standin.Module.Err("gracefulexitcmd.Cmd.Run")
}

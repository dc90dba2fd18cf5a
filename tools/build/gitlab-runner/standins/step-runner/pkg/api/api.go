// Package api is the stand-in for step-runner's socket helpers.
package api

import (
	"net"

	"gitlab.com/gitlab-org/step-runner/internal/standin"
)

// DefaultSocketPath succeeds: the runner computes it for the default of the
// `steps` commands' --socket flag every time it starts. The path names the
// stand-in, so whoever sees it in --help or in an error knows why.
func DefaultSocketPath() string {
	return "/nonexistent/step-runner-stand-in.sock"
}

// SocketAddr refuses: nothing may listen on or dial a step-runner socket.
func SocketAddr(string) *net.UnixAddr {
	standin.Module.Panic("api.SocketAddr")
	return nil
}

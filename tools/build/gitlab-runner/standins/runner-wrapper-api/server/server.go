// Package server is the stand-in for the wrapper's gRPC server; it cannot
// serve (see package api).
package server

import (
	"net"

	"gitlab.com/gitlab-org/gitlab-runner/helpers/runner_wrapper/api"
)

// Server would serve the wrapper API.
type Server struct{}

// New refuses.
func New(log any, wrapper any) *Server {
	api.Module.Panic("server.New")
	return nil
}

// Listen refuses.
func (*Server) Listen(net.Listener) {
	api.Module.Panic("server.Server.Listen")
}

// Stop refuses.
func (*Server) Stop() {
	api.Module.Panic("server.Server.Stop")
}

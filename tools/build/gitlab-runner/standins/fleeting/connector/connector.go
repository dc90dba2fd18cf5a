// Package connector is the stand-in for fleeting's instance connections
// (SSH, WinRM); it cannot connect.
package connector

import (
	"context"
	"io"
	"net"

	"gitlab.com/gitlab-org/fleeting/fleeting/internal/standin"
	"gitlab.com/gitlab-org/fleeting/fleeting/provider"
)

// Client is a connection to an instance.
type Client interface {
	Dial(network, addr string) (net.Conn, error)
	DialRun(ctx context.Context, command string) (net.Conn, error)
	Run(ctx context.Context, opts RunOptions) error
	Close() error
}

// DialFn dials an instance.
type DialFn func(ctx context.Context, info provider.ConnectInfo, options DialOptions) (Client, error)

// DialOptions say how to dial.
type DialOptions struct {
	UseExternalAddr bool
	DialFn          func(ctx context.Context, network, addr string) (net.Conn, error)
}

// RunOptions say what to run on an instance.
type RunOptions struct {
	Command string
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
}

// ConnectorOptions combine both.
type ConnectorOptions struct {
	RunOptions
	DialOptions
}

// ExitError is a command's non-zero exit.
type ExitError struct{}

// Error refuses: no command can have run.
func (*ExitError) Error() string {
	standin.Module.Panic("connector.ExitError.Error")
	return ""
}

// ExitCode refuses.
func (*ExitError) ExitCode() int {
	standin.Module.Panic("connector.ExitError.ExitCode")
	return 0
}

// Dial refuses.
func Dial(context.Context, provider.ConnectInfo, DialOptions) (Client, error) {
	return nil, standin.Module.Err("connector.Dial")
}

// Run refuses.
func Run(context.Context, provider.ConnectInfo, ConnectorOptions) error {
	return standin.Module.Err("connector.Run")
}

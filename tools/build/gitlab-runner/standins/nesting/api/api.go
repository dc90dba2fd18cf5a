// Package api is a compile-only stand-in for the client of
// gitlab.com/gitlab-org/fleeting/nesting v0.5.0, which the Go proxy refuses:
// nesting runs job VMs on autoscaled instances (VM isolation). Every function
// fails: those that return an error return a refusal.Error, the others panic
// with one.
//
// A Kubernetes-executor manager never reaches it: the runner dials nesting
// only for docker-autoscaler and instance runners with
// [runners.autoscaler.vm_isolation] enabled
// (executors/internal/autoscaler); the fleet renders only
// `executor = "kubernetes"`.
package api

import (
	"context"
	"errors"
	"io"
	"net"

	"gitlab-runner-fleet/tools/build/gitlab-runner/standins/refusal"
	"gitlab.com/gitlab-org/fleeting/nesting/hypervisor"
)

var module = refusal.Module{
	Path:    "gitlab.com/gitlab-org/fleeting/nesting",
	Version: "v0.5.0",
	Feature: "nesting VM isolation (docker-autoscaler and instance executors)",
}

// Errors the runner's lazy initialisation tests for.
var (
	ErrNotInitialized     = errors.New("not initialized")
	ErrAlreadyInitialized = errors.New("already initialized")
)

// Client talks to a nesting daemon.
type Client interface {
	Init(ctx context.Context, config []byte) error
	Create(ctx context.Context, image string, slot *int32) (hypervisor.VirtualMachine, *string, error)
	List(ctx context.Context) ([]hypervisor.VirtualMachine, error)
	Delete(ctx context.Context, id string) error
	Close() error
}

// ClientConn is a connection to a nesting daemon.
type ClientConn interface {
	io.Closer
}

// NewClientConn refuses.
func NewClientConn(string, func(ctx context.Context, network, address string) (net.Conn, error)) (ClientConn, error) {
	return nil, module.Err("api.NewClientConn")
}

// New refuses.
func New(ClientConn) Client {
	module.Panic("api.New")
	return nil
}

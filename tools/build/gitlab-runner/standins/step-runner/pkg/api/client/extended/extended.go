// Package extended is the stand-in for step-runner's streaming client; it
// cannot connect.
package extended

import (
	"context"
	"io"

	"gitlab.com/gitlab-org/step-runner/internal/standin"
	"gitlab.com/gitlab-org/step-runner/pkg/api/client"
)

// FollowOutput receives a run's logs.
type FollowOutput struct {
	Logs io.Writer
}

// Client would talk to a step-runner service.
type Client struct{}

// New refuses: there is no step-runner to connect to.
func New(dialer any) (*Client, error) {
	return nil, standin.Module.Err("extended.New")
}

// RunAndFollow refuses.
func (*Client) RunAndFollow(context.Context, *client.RunRequest, *FollowOutput) (client.Status, error) {
	return client.Status{}, standin.Module.Err("extended.Client.RunAndFollow")
}

// Cancel refuses.
func (*Client) Cancel(context.Context, string) error {
	return standin.Module.Err("extended.Client.Cancel")
}

// CloseConn refuses.
func (*Client) CloseConn() error {
	return standin.Module.Err("extended.Client.CloseConn")
}

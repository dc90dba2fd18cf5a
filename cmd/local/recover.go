package main

import (
	"context"
	"fmt"

	"github.com/glrf/gitlab-runner-fleet/localengine"
)

// outputsCommand prints the stack's outputs as JSON, secrets masked
// (stack output --json).
func (d *driver) outputsCommand(ctx context.Context, args []string) error {
	return d.stackOutput(ctx, append([]string{"--json"}, args...))
}

// recoverCommand makes a stack usable again after its engine was killed
// in the middle of an update: see localengine.Recover.
func (d *driver) recoverCommand(ctx context.Context, args []string) error {
	fs := newFlags("recover", "recover", d.errOut)
	d.stackFlags(fs)
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	stack, opts, err := d.open(ctx, false)
	if err != nil {
		return err
	}
	baseURL, err := stack.GetConfig(ctx, "gitlab:baseUrl")
	if err != nil {
		return fmt.Errorf("recover needs gitlab:baseUrl to look runners up: %w", engineError(err))
	}
	return streamedError(localengine.Recover(ctx, stack, localengine.ProjectCleaner(baseURL.Value, opts.Env["GITLAB_TOKEN"]), d.out))
}

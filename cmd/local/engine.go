package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
)

// errDeclined is a confirmation answered with anything but yes.
var errDeclined = errors.New("declined: nothing was changed")

// engineCommand runs preview, up, refresh or destroy with the pulumi CLI's
// flags. The engine's own display goes to the terminal as it runs: by
// default the compact tree, with --diff every property of every change;
// its warnings and errors on stderr, whether the command succeeds or not.
func (d *driver) engineCommand(ctx context.Context, command string, args []string) error {
	fs := newFlags(command, command+" [flags]", d.errOut)
	d.stackFlags(fs)
	fs.diff()
	fs.target()
	fs.parallel()
	fs.message()
	switch command {
	case "preview":
		fs.replace()
		fs.bool(&fs.engine.expectNoChanges, "expect-no-changes", "", "fail if the preview shows any change")
		fs.bool(&fs.engine.refresh, "refresh", "r", "refresh the state first")
	case "up":
		fs.replace()
		fs.confirm()
		fs.bool(&fs.engine.expectNoChanges, "expect-no-changes", "", "fail if the update makes any change")
		fs.bool(&fs.engine.refresh, "refresh", "r", "refresh the state first")
	case "refresh":
		fs.confirm()
		fs.bool(&fs.engine.clearPendingCreates, "clear-pending-creates", "", "drop the creates a killed engine left pending (see recover)")
		fs.bool(&fs.engine.expectNoChanges, "expect-no-changes", "", "fail if the refresh finds any change")
	case "destroy":
		fs.confirm()
		fs.bool(&fs.engine.remove, "remove", "", "remove the stack and its stack file after destroying its resources")
	}
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	f := fs.engine
	if command != "preview" {
		if err := d.confirm.check(&f); err != nil {
			return err
		}
	}
	stack, _, err := d.open(ctx, command == "preview" || command == "up")
	if err != nil {
		return err
	}
	e := engine{stack: stack, flags: f, out: d.out, errOut: d.errOut}
	switch command {
	case "preview":
		return e.preview(ctx)
	case "up":
		return d.afterPreview(ctx, f, e.preview, "Do you want to perform this update?", e.up)
	case "refresh":
		return d.afterPreview(ctx, f, e.previewRefresh, "Do you want to perform this refresh?", e.refresh)
	default:
		return d.afterPreview(ctx, f, e.previewDestroy, "Do you want to perform this destroy?", e.destroy)
	}
}

// afterPreview runs the command after its preview and a yes, as pulumi
// does: --skip-preview skips the preview, --yes the question.
func (d *driver) afterPreview(ctx context.Context, f engineFlags, preview func(context.Context) error, question string, run func(context.Context) error) error {
	if !f.skipPreview {
		if err := preview(ctx); err != nil {
			return err
		}
		if !f.yes {
			ok, err := d.confirm.ask(question)
			if err != nil {
				return err
			}
			if !ok {
				return errDeclined
			}
		}
		fmt.Fprintln(d.out)
	}
	return run(ctx)
}

// engine runs one command's engine operations with its flags, the
// engine's output going to out and errOut as it runs.
type engine struct {
	stack       auto.Stack
	flags       engineFlags
	out, errOut io.Writer
}

func (e engine) preview(ctx context.Context) error {
	f := e.flags
	opts := []optpreview.Option{optpreview.ProgressStreams(e.out), optpreview.ErrorProgressStreams(e.errOut),
		optpreview.Target(f.target), optpreview.Replace(f.replace), optpreview.Parallel(f.parallel), optpreview.Message(f.message)}
	if f.diff {
		texts := collectTextChanges()
		defer texts.print(e.out)
		opts = append(opts, optpreview.Diff(), optpreview.EventStreams(texts.events))
	}
	if f.targetDependents {
		opts = append(opts, optpreview.TargetDependents())
	}
	if f.refresh {
		opts = append(opts, optpreview.Refresh())
	}
	if f.expectNoChanges {
		opts = append(opts, optpreview.ExpectNoChanges())
	}
	// A preview writes no state, yet the pinned engine (local backend)
	// still serializes and checks the whole state after every step unless
	// checkpoints are skipped: quadratic in the stack's size, most of a
	// large preview's time. Skipping them changes nothing a preview shows
	// (docs/development.md, Performance); the update after it keeps its checkpoints.
	ws := e.stack.Workspace()
	ws.SetEnvVar("PULUMI_SKIP_CHECKPOINTS", "true")
	defer ws.UnsetEnvVar("PULUMI_SKIP_CHECKPOINTS")
	_, err := e.stack.Preview(ctx, opts...)
	return streamedError(err)
}

func (e engine) up(ctx context.Context) error {
	f := e.flags
	opts := []optup.Option{optup.ProgressStreams(e.out), optup.ErrorProgressStreams(e.errOut),
		optup.Target(f.target), optup.Replace(f.replace), optup.Parallel(f.parallel), optup.Message(f.message)}
	if f.diff {
		texts := collectTextChanges()
		defer texts.print(e.out)
		opts = append(opts, optup.Diff(), optup.EventStreams(texts.events))
	}
	if f.targetDependents {
		opts = append(opts, optup.TargetDependents())
	}
	if f.refresh {
		opts = append(opts, optup.Refresh())
	}
	if f.expectNoChanges {
		opts = append(opts, optup.ExpectNoChanges())
	}
	_, err := e.stack.Up(ctx, opts...)
	return streamedError(err)
}

func (e engine) refreshOptions() []optrefresh.Option {
	f := e.flags
	opts := []optrefresh.Option{optrefresh.ProgressStreams(e.out), optrefresh.ErrorProgressStreams(e.errOut),
		optrefresh.Target(f.target), optrefresh.Parallel(f.parallel), optrefresh.Message(f.message)}
	if f.diff {
		opts = append(opts, optrefresh.Diff())
	}
	if f.targetDependents {
		opts = append(opts, optrefresh.TargetDependents())
	}
	if f.clearPendingCreates {
		opts = append(opts, optrefresh.ClearPendingCreates())
	}
	if f.expectNoChanges {
		opts = append(opts, optrefresh.ExpectNoChanges())
	}
	return opts
}

func (e engine) previewRefresh(ctx context.Context) error {
	_, err := e.stack.PreviewRefresh(ctx, e.refreshOptions()...)
	return streamedError(err)
}

func (e engine) refresh(ctx context.Context) error {
	_, err := e.stack.Refresh(ctx, e.refreshOptions()...)
	return streamedError(err)
}

func (e engine) destroyOptions() []optdestroy.Option {
	f := e.flags
	opts := []optdestroy.Option{optdestroy.ProgressStreams(e.out), optdestroy.ErrorProgressStreams(e.errOut),
		optdestroy.Target(f.target), optdestroy.Parallel(f.parallel), optdestroy.Message(f.message)}
	if f.diff {
		opts = append(opts, optdestroy.Diff())
	}
	if f.targetDependents {
		opts = append(opts, optdestroy.TargetDependents())
	}
	return opts
}

func (e engine) previewDestroy(ctx context.Context) error {
	_, err := e.stack.PreviewDestroy(ctx, e.destroyOptions()...)
	return streamedError(err)
}

func (e engine) destroy(ctx context.Context) error {
	opts := e.destroyOptions()
	if e.flags.remove {
		opts = append(opts, optdestroy.Remove())
	}
	_, err := e.stack.Destroy(ctx, opts...)
	return streamedError(err)
}

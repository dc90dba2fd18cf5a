package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optremove"
)

// stackCommand is `pulumi stack` for this backend: stack output and stack rm.
func (d *driver) stackCommand(ctx context.Context, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return d.stackResources(ctx, args)
	}
	switch args[0] {
	case "output":
		return d.stackOutput(ctx, args[1:])
	case "rm":
		return d.stackRemove(ctx, args[1:])
	}
	fmt.Fprintf(d.errOut, "unknown stack command %q\nusage: go run ./cmd/local stack [--show-urns] | stack output [NAME] [--json] [--show-secrets] | stack rm [NAME] [--force] [--yes] [--preserve-config]\n", args[0])
	return errUsage
}

// stackResources lists the stack's resources as pulumi stack
// --show-urns does: type and name, with --show-urns the URN that
// --target and --replace take.
func (d *driver) stackResources(ctx context.Context, args []string) error {
	fs := newFlags("stack", "stack [--show-urns]", d.errOut)
	d.stackFlags(fs)
	var showURNs bool
	fs.bool(&showURNs, "show-urns", "u", "show each resource's URN")
	if _, err := parse(fs, args, 0, 0); err != nil {
		return err
	}
	stack, _, err := d.open(ctx, false)
	if err != nil {
		return err
	}
	exported, err := stack.Export(ctx)
	if err != nil {
		return engineError(err)
	}
	var state struct {
		Resources []struct {
			URN  resource.URN `json:"urn"`
			Type string       `json:"type"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(exported.Deployment, &state); err != nil {
		return fmt.Errorf("reading the stack's state: %w", err)
	}
	fmt.Fprintf(d.out, "Current stack is %s:\n    Managed by the local backend (.local/state)\n\nCurrent stack resources (%d):\n", d.stackName, len(state.Resources))
	width := len("TYPE")
	for _, r := range state.Resources {
		width = max(width, len(r.Type))
	}
	fmt.Fprintf(d.out, "    %-*s  NAME\n", width, "TYPE")
	for _, r := range state.Resources {
		fmt.Fprintf(d.out, "    %-*s  %s\n", width, r.Type, r.URN.Name())
		if showURNs {
			fmt.Fprintf(d.out, "        URN: %s\n", r.URN)
		}
	}
	return nil
}

// stackOutput prints the stack's outputs as pulumi stack output does: a
// table, one output's value, or --json; secrets masked unless
// --show-secrets.
func (d *driver) stackOutput(ctx context.Context, args []string) error {
	fs := newFlags("stack output", "stack output [NAME] [--json] [--show-secrets]", d.errOut)
	d.stackFlags(fs)
	var asJSON, showSecrets bool
	fs.bool(&asJSON, "json", "j", "print the outputs as JSON")
	fs.bool(&showSecrets, "show-secrets", "", "print secret outputs in plain text")
	positional, err := parse(fs, args, 0, 1)
	if err != nil {
		return err
	}
	stack, _, err := d.open(ctx, false)
	if err != nil {
		return err
	}
	outputs, err := stack.Outputs(ctx)
	if err != nil {
		return engineError(err)
	}
	shown := map[string]any{}
	for k, v := range outputs {
		shown[k] = v.Value
		if v.Secret && !showSecrets {
			shown[k] = "[secret]"
		}
	}
	if len(positional) == 1 {
		v, ok := shown[positional[0]]
		if !ok {
			return fmt.Errorf("current stack does not have output property %q", positional[0])
		}
		if s, isString := v.(string); isString && !asJSON {
			fmt.Fprintln(d.out, s)
			return nil
		}
		return printJSON(d, v, asJSON)
	}
	if asJSON {
		return printJSON(d, shown, true)
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range shown {
			if !yield(k) {
				return
			}
		}
	})
	fmt.Fprintf(d.out, "Current stack outputs (%d):\n", len(names))
	w := tabwriter.NewWriter(d.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "    OUTPUT\tVALUE")
	for _, k := range names {
		value, _ := json.Marshal(shown[k])
		if s, isString := shown[k].(string); isString {
			value = []byte(s)
		}
		fmt.Fprintf(w, "    %s\t%s\n", k, value)
	}
	return w.Flush()
}

func printJSON(d *driver, v any, indent bool) error {
	var data []byte
	var err error
	if indent {
		data, err = json.MarshalIndent(v, "", "  ")
	} else {
		data, err = json.Marshal(v)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(d.out, string(data))
	return nil
}

// stackRemove removes the stack from the backend, as pulumi stack rm: a
// stack that still has resources only with --force (they are left running,
// unmanaged), and its stack file too unless --preserve-config.
func (d *driver) stackRemove(ctx context.Context, args []string) error {
	fs := newFlags("stack rm", "stack rm [NAME] [--force] [--yes] [--preserve-config]", d.errOut)
	d.stackFlags(fs)
	var force, preserve bool
	fs.bool(&force, "force", "", "remove the stack even though it still has resources (they keep running, no longer managed)")
	fs.bool(&preserve, "preserve-config", "", "keep the stack file Pulumi.<stack>.yaml")
	fs.bool(&fs.engine.yes, "yes", "y", "do not ask")
	positional, err := parse(fs, args, 0, 1)
	if err != nil {
		return err
	}
	if len(positional) == 1 {
		d.stackName = positional[0]
	}
	if err := d.confirm.check(&fs.engine); err != nil {
		return err
	}
	stack, opts, err := d.open(ctx, false)
	if err != nil {
		return err
	}
	if !fs.engine.yes {
		ok, err := d.confirm.ask(fmt.Sprintf("This removes the stack %q from the local backend for good. Do you want to go ahead?", d.stackName))
		if err != nil {
			return err
		}
		if !ok {
			return errDeclined
		}
	}
	stackFile := filepath.Join(opts.WorkDir, "Pulumi."+d.stackName+".yaml")
	kept, readErr := os.ReadFile(stackFile)
	var removeOpts []optremove.Option
	if force {
		removeOpts = append(removeOpts, optremove.Force())
	}
	if err := stack.Workspace().RemoveStack(ctx, d.stackName, removeOpts...); err != nil {
		return engineError(err)
	}
	if preserve && readErr == nil {
		if err := os.WriteFile(stackFile, kept, 0o644); err != nil {
			return fmt.Errorf("the stack is removed, but its stack file could not be restored: %w", err)
		}
	}
	fmt.Fprintf(d.out, "Stack %q has been removed.\n", d.stackName)
	return nil
}

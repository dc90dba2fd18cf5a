package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
)

// configCommand reads and writes the stack's settings as `pulumi config`
// does: config set [--secret] [--path] KEY [VALUE] (the value from stdin
// when left out, e.g. `config set --secret buildEuKubeconfig <
// kubeconfig.yaml`), config get KEY, config rm KEY. `config set` on a new
// stack creates it, with its secrets provider (see localengine).
func (d *driver) configCommand(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "set" && args[0] != "get" && args[0] != "rm") {
		fmt.Fprintln(d.errOut, "usage: go run ./cmd/local config set [--secret] [--path] KEY [VALUE] | config get [--path] KEY | config rm [--path] KEY")
		return errUsage
	}
	sub := args[0]
	fs := newFlags("config "+sub, map[string]string{
		"set": "config set [--secret] [--path] KEY [VALUE]   (VALUE from stdin when left out)",
		"get": "config get [--path] KEY",
		"rm":  "config rm [--path] KEY",
	}[sub], d.errOut)
	d.stackFlags(fs)
	var secret, path bool
	fs.bool(&path, "path", "", "KEY is a path into a structured setting (fleets[0].manager.replicas)")
	if sub == "set" {
		fs.bool(&secret, "secret", "", "encrypt the value (tokens, keys, kubeconfigs)")
	}
	maxArgs := 1
	if sub == "set" {
		maxArgs = 2
	}
	positional, err := parse(fs, args[1:], 1, maxArgs)
	if err != nil {
		return err
	}
	key := positional[0]
	stack, _, err := d.open(ctx, sub == "set")
	if err != nil {
		return err
	}
	options := &auto.ConfigOptions{Path: path}
	switch sub {
	case "set":
		var value string
		if len(positional) == 2 {
			value = positional[1]
		} else {
			data, err := io.ReadAll(os.Stdin)
			if err != nil {
				return fmt.Errorf("reading the value of %s from stdin: %w", key, err)
			}
			value = string(data)
		}
		return engineError(stack.SetConfigWithOptions(ctx, key, auto.ConfigValue{Value: value, Secret: secret}, options))
	case "get":
		v, err := stack.GetConfigWithOptions(ctx, key, options)
		if err != nil {
			return engineError(err)
		}
		fmt.Fprintln(d.out, v.Value)
		return nil
	default:
		return engineError(stack.RemoveConfigWithOptions(ctx, key, options))
	}
}

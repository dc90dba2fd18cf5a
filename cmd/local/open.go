package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/glrf/gitlab-runner-fleet/localengine"
)

// options are the local engine's options for the chosen stack, from the
// repository root (the working directory).
func (d *driver) options() (localengine.Options, error) {
	root, err := os.Getwd()
	if err != nil {
		return localengine.Options{}, err
	}
	if _, err := os.Stat(filepath.Join(root, "Pulumi.yaml")); err != nil {
		return localengine.Options{}, fmt.Errorf("run from the repository root (no Pulumi.yaml in %s)", root)
	}
	// Only the dev stack gets the public development passphrase; any other
	// stack keeps the caller's secrets provider (PULUMI_CONFIG_PASSPHRASE,
	// its stack file's secretsprovider, or --secrets-provider for a new one).
	opts := localengine.DefaultOptions(root, d.stackName)
	opts.SecretsProvider = d.secretsProvider
	opts.Env["KUBECONFIG"] = envOr("KUBECONFIG", filepath.Join(root, ".local", "cluster", "kubeconfig"))
	if token := os.Getenv("GITLAB_TOKEN"); token != "" {
		opts.Env["GITLAB_TOKEN"] = token
	} else if data, err := os.ReadFile(filepath.Join(root, ".local", "gitlab", "admin-token")); err == nil {
		// The local GitLab stand-in's token: never written into a stack file.
		opts.Env["GITLAB_TOKEN"] = strings.TrimSpace(string(data))
	}
	return opts, nil
}

// open selects the stack, creating it when create is set (preview, up,
// config set: a new stack starts there) and else requiring that it exists.
func (d *driver) open(ctx context.Context, create bool) (auto.Stack, localengine.Options, error) {
	opts, err := d.options()
	if err != nil {
		return auto.Stack{}, opts, err
	}
	if create {
		s, err := localengine.Stack(ctx, d.stackName, opts)
		return s, opts, engineError(err)
	}
	s, err := localengine.ExistingStack(ctx, d.stackName, opts)
	if auto.IsSelectStack404Error(err) {
		return s, opts, fmt.Errorf("there is no stack %q in the local backend (.local/state): `preview`, `up` or `config set` create it", d.stackName)
	}
	return s, opts, engineError(err)
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

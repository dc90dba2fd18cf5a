// Package localengine runs the program through the real Pulumi engine with
// the Automation API's inline mode: the language runtime is hosted in this
// process (the Go language host is not needed), while the pulumi CLI, the
// provider plugins and the state backend are the real ones.
//
// Everything stays inside the repository's ignored .local folder: a local
// file backend, a project-local PULUMI_HOME for plugins, and the passphrase
// secrets provider. The user's ~/.pulumi is never touched.
package localengine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"example.com/gitlab-runner-fleet/program"
)

// LocalPassphrase encrypts the secrets of local development stacks only
// (their state never leaves .local); real stacks use their own secrets provider.
const LocalPassphrase = "gitlab-runner-fleet-local-development"

// Options locate the project, the state and the tools.
type Options struct {
	// WorkDir holds Pulumi.yaml and Pulumi.<stack>.yaml: the repository root,
	// or a copy of its project files in tests.
	WorkDir string
	// StateDir is the file backend's folder.
	StateDir string
	// PulumiHome holds the installed plugins.
	PulumiHome string
	// PulumiBin is the pulumi CLI to drive.
	PulumiBin string
	// Env adds variables for the engine and the providers (KUBECONFIG, GITLAB_TOKEN...).
	Env map[string]string
}

// DefaultOptions are the repository's own locations under root/.local.
func DefaultOptions(root string) Options {
	local := filepath.Join(root, ".local")
	return Options{
		WorkDir:    root,
		StateDir:   filepath.Join(local, "state"),
		PulumiHome: filepath.Join(local, "pulumi-home"),
		PulumiBin:  os.Getenv("GLRF_PULUMI"),
		Env:        map[string]string{},
	}
}

// Stack selects the named stack, creating it if needed, running program.Run inline.
func Stack(ctx context.Context, name string, opts Options) (auto.Stack, error) {
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return auto.Stack{}, err
	}
	env := map[string]string{
		"PULUMI_BACKEND_URL":                       "file://" + opts.StateDir,
		"PULUMI_CONFIG_PASSPHRASE":                 LocalPassphrase,
		"PULUMI_SKIP_UPDATE_CHECK":                 "true",
		"PULUMI_DIY_BACKEND_NO_LEGACY_WARNING":     "true",
		"PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK": "true",
	}
	for k, v := range opts.Env {
		env[k] = v
	}
	wsOpts := []auto.LocalWorkspaceOption{
		auto.WorkDir(opts.WorkDir),
		auto.PulumiHome(opts.PulumiHome),
		auto.EnvVars(env),
		auto.SecretsProvider("passphrase"),
	}
	if opts.PulumiBin != "" {
		root := filepath.Dir(filepath.Dir(opts.PulumiBin))
		if filepath.Base(filepath.Dir(opts.PulumiBin)) != "bin" {
			return auto.Stack{}, fmt.Errorf("GLRF_PULUMI=%s: the CLI must sit in a folder named bin", opts.PulumiBin)
		}
		cmd, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: root, SkipVersionCheck: true})
		if err != nil {
			return auto.Stack{}, fmt.Errorf("using the pulumi CLI at %s: %w", opts.PulumiBin, err)
		}
		wsOpts = append(wsOpts, auto.Pulumi(cmd))
	}
	return auto.UpsertStackInlineSource(ctx, name, program.Project, program.Run, wsOpts...)
}

// Package localengine runs the program through the real Pulumi engine with
// the Automation API's inline mode: the language runtime is hosted in this
// process (the Go language host is not needed), while the pulumi CLI, the
// provider plugins and the state backend are the real ones.
//
// Everything stays inside the repository's ignored .local folder: a local
// file backend and a project-local PULUMI_HOME for plugins. The user's
// ~/.pulumi is never touched. Secrets: the dev stack uses a fixed, public
// development passphrase; every other stack the caller's secrets provider.
package localengine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/client-go/kubernetes"

	"github.com/glrf/gitlab-runner-fleet/program"
)

// LocalPassphrase encrypts the secrets of local development stacks only
// (their state never leaves .local); real stacks use their own secrets
// provider. It is public: it protects nothing, and must never encrypt the
// secrets of a stack that leaves this machine.
const LocalPassphrase = "gitlab-runner-fleet-local-development"

// DevStack is the one stack of the repository whose secrets use
// LocalPassphrase (see DefaultOptions).
const DevStack = "dev"

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
	// DevelopmentSecrets encrypts the stack's secrets with LocalPassphrase.
	// Only for stacks whose state and stack file never leave this machine:
	// the dev stack and the test suite's stacks in temporary folders. Any
	// other stack keeps the caller's secrets provider: the one its stack
	// file names, SecretsProvider for a new stack, or the passphrase in
	// PULUMI_CONFIG_PASSPHRASE / PULUMI_CONFIG_PASSPHRASE_FILE (Env or the
	// process environment), which then must not be LocalPassphrase.
	DevelopmentSecrets bool
	// SecretsProvider creates a stack that does not exist yet with this
	// provider (e.g. awskms://...); empty is the passphrase provider.
	// Ignored with DevelopmentSecrets.
	SecretsProvider string
	// Now is the clock the program's token rotation reads (time.Now when
	// nil): tests move it forward to make a rotation due.
	Now func() time.Time
}

// DefaultOptions are the repository's own locations under root/.local for
// the named stack; only DevStack gets DevelopmentSecrets.
func DefaultOptions(root, stack string) Options {
	local := filepath.Join(root, ".local")
	return Options{
		WorkDir:            root,
		StateDir:           filepath.Join(local, "state"),
		PulumiHome:         filepath.Join(local, "pulumi-home"),
		PulumiBin:          os.Getenv("GLRF_PULUMI"),
		Env:                map[string]string{},
		DevelopmentSecrets: stack == DevStack,
	}
}

// ErrDevelopmentPassphrase is returned for a stack without
// DevelopmentSecrets whose passphrase would be LocalPassphrase.
var ErrDevelopmentPassphrase = errors.New("the passphrase is the public local development one (localengine.LocalPassphrase), " +
	"which only the dev stack may use: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) to this stack's own passphrase, " +
	"or use its secrets provider")

// callerPassphrase is the passphrase the CLI would use for a stack without
// DevelopmentSecrets: from env (Options.Env), else the process environment.
func callerPassphrase(env map[string]string) (string, error) {
	lookup := func(key string) (string, bool) {
		if v, ok := env[key]; ok {
			return v, true
		}
		return os.LookupEnv(key)
	}
	if v, ok := lookup("PULUMI_CONFIG_PASSPHRASE"); ok {
		return v, nil
	}
	if path, ok := lookup("PULUMI_CONFIG_PASSPHRASE_FILE"); ok && path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("reading PULUMI_CONFIG_PASSPHRASE_FILE: %w", err)
		}
		return strings.TrimRight(string(data), "\r\n"), nil
	}
	return "", nil
}

// Stack selects the named stack, creating it if needed, running program.Run inline.
func Stack(ctx context.Context, name string, opts Options) (auto.Stack, error) {
	return stack(ctx, name, opts, auto.UpsertStackInlineSource)
}

// ExistingStack selects the named stack, which must exist in the backend:
// for the commands that read or remove a stack (destroy, stack rm, stack
// output...), where creating it would be a surprise.
func ExistingStack(ctx context.Context, name string, opts Options) (auto.Stack, error) {
	return stack(ctx, name, opts, auto.SelectStackInlineSource)
}

type openStack func(ctx context.Context, name, project string, program pulumi.RunFunc, opts ...auto.LocalWorkspaceOption) (auto.Stack, error)

func stack(ctx context.Context, name string, opts Options, open openStack) (auto.Stack, error) {
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return auto.Stack{}, err
	}
	env := map[string]string{
		"PULUMI_BACKEND_URL":                       "file://" + opts.StateDir,
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
	}
	if opts.DevelopmentSecrets {
		env["PULUMI_CONFIG_PASSPHRASE"] = LocalPassphrase
		wsOpts = append(wsOpts, auto.SecretsProvider("passphrase"))
	} else {
		phrase, err := callerPassphrase(opts.Env)
		if err != nil {
			return auto.Stack{}, err
		}
		if phrase == LocalPassphrase {
			return auto.Stack{}, fmt.Errorf("stack %s: %w", name, ErrDevelopmentPassphrase)
		}
		if opts.SecretsProvider != "" {
			wsOpts = append(wsOpts, auto.SecretsProvider(opts.SecretsProvider))
		}
	}
	wsOpts = append(wsOpts, auto.EnvVars(env))
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
	return open(ctx, name, program.Project, inlineProgram(opts), wsOpts...)
}

// inlineProgram is program.Run for this process: the engine and the
// providers get opts.Env, but the inline program runs here, so its own reads
// of the cluster (the managers' rollout) use opts.Env's KUBECONFIG too, and
// its own calls to GitLab opts.Env's GITLAB_TOKEN.
func inlineProgram(opts Options) pulumi.RunFunc {
	return program.Options{
		Kube: func(access program.KubeAccess) (kubernetes.Interface, error) {
			if access.Kubeconfig == "" {
				access.Kubeconfig = opts.Env["KUBECONFIG"]
			}
			return access.Client()
		},
		Getenv: func(key string) string {
			if v, ok := opts.Env[key]; ok {
				return v
			}
			return os.Getenv(key)
		},
		Now: opts.Now,
	}.Run
}

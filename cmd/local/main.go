// Command local runs the program through the real Pulumi engine on this
// machine: `go run ./cmd/local [--stack dev] preview|up|refresh|destroy|recover|outputs`.
// It is what `make up`, `make preview` and `make destroy` call; see
// localengine for where state, plugins and secrets live.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"

	"github.com/glrf/gitlab-runner-fleet/localengine"
)

func main() {
	stackName := flag.String("stack", localengine.DevStack, "stack to operate on (Pulumi.<stack>.yaml)")
	secretsProvider := flag.String("secrets-provider", "", "secrets provider of a new stack other than dev (default: passphrase, from PULUMI_CONFIG_PASSPHRASE)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: go run ./cmd/local [--stack NAME] [--secrets-provider URL] preview|up|refresh|destroy|recover|outputs")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(context.Background(), *stackName, *secretsProvider, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, stackName, secretsProvider, command string) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "Pulumi.yaml")); err != nil {
		return fmt.Errorf("run from the repository root (no Pulumi.yaml in %s)", root)
	}
	// Only the dev stack gets the public development passphrase; any other
	// stack keeps the caller's secrets provider (PULUMI_CONFIG_PASSPHRASE,
	// its stack file's secretsprovider, or --secrets-provider for a new one).
	opts := localengine.DefaultOptions(root, stackName)
	opts.SecretsProvider = secretsProvider
	opts.Env["KUBECONFIG"] = envOr("KUBECONFIG", filepath.Join(root, ".local", "cluster", "kubeconfig"))
	if token := os.Getenv("GITLAB_TOKEN"); token != "" {
		opts.Env["GITLAB_TOKEN"] = token
	} else if data, err := os.ReadFile(filepath.Join(root, ".local", "gitlab", "admin-token")); err == nil {
		// The local GitLab stand-in's token: never written into a stack file.
		opts.Env["GITLAB_TOKEN"] = strings.TrimSpace(string(data))
	}
	stack, err := localengine.Stack(ctx, stackName, opts)
	if err != nil {
		return err
	}
	out := os.Stdout
	switch command {
	case "preview":
		// A preview writes no state, yet the pinned engine (local backend)
		// still serializes and checks the whole state after every step unless
		// checkpoints are skipped: quadratic in the stack's size, most of a
		// large preview's time. Skipping them changes nothing a preview shows
		// (README, Performance); `up` keeps its checkpoints.
		stack.Workspace().SetEnvVar("PULUMI_SKIP_CHECKPOINTS", "true")
		res, err := stack.Preview(ctx, optpreview.ProgressStreams(out), optpreview.Diff())
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "\npreview: %v\n", res.ChangeSummary)
	case "up":
		res, err := stack.Up(ctx, optup.ProgressStreams(out))
		if err != nil {
			return err
		}
		printOutputs(res.Outputs)
	case "refresh":
		_, err := stack.Refresh(ctx, optrefresh.ProgressStreams(out))
		return err
	case "destroy":
		_, err := stack.Destroy(ctx, optdestroy.ProgressStreams(out))
		return err
	case "recover":
		// After the engine was killed mid-update: see localengine.Recover.
		baseURL, err := stack.GetConfig(ctx, "gitlab:baseUrl")
		if err != nil {
			return fmt.Errorf("recover needs gitlab:baseUrl to look runners up: %w", err)
		}
		return localengine.Recover(ctx, stack, localengine.ProjectCleaner(baseURL.Value, opts.Env["GITLAB_TOKEN"]), out)
	case "outputs":
		outputs, err := stack.Outputs(ctx)
		if err != nil {
			return err
		}
		printOutputs(outputs)
	default:
		return fmt.Errorf("unknown command %q: use preview, up, refresh, destroy, recover or outputs", command)
	}
	return nil
}

// printOutputs prints the stack outputs, masking secrets.
func printOutputs(outputs auto.OutputMap) {
	shown := map[string]any{}
	for k, v := range outputs {
		if v.Secret {
			shown[k] = "[secret]"
		} else {
			shown[k] = v.Value
		}
	}
	data, _ := json.MarshalIndent(shown, "", "  ")
	fmt.Printf("outputs:\n%s\n", data)
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

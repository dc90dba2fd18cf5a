// Command status shows the live state of a stack's fleets: the managers'
// rollout and pods, and the runner as GitLab sees it (paused or not, its
// managers' last contacts, its running jobs). The stack outputs are a
// snapshot of the last `up`; this reads the cluster and GitLab now.
//
//	go run ./cmd/status [--stack dev] [--fleet NAME] [--json] [--check]
//	go run ./cmd/status [--stack dev] --wait-idle [--timeout 2h]
//	go run ./cmd/status --outputs outputs.json --config config.json
//
// The first form opens the stack as cmd/local does (the local backend in
// .local/state; KUBECONFIG and GITLAB_TOKEN as cmd/local finds them). The
// last is for a normal Pulumi install: give it `pulumi stack output --json
// --show-secrets` and `pulumi config --json --show-secrets`, with
// KUBECONFIG and GITLAB_TOKEN in the environment as for `pulumi up`.
//
// --wait-idle waits until the fleets' runners run no job (the drain before
// maintenance: pause the runners first, see docs/operations.md); --check exits 1
// unless every fleet's managers are all ready.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glrf/gitlab-runner-fleet/localengine"
	"github.com/glrf/gitlab-runner-fleet/status"
)

func main() {
	// A flag set of its own: the global one also holds the flags of the
	// Kubernetes client's logger, which --help would list.
	flags := flag.NewFlagSet("status", flag.ExitOnError)
	stackName := flags.String("stack", localengine.DevStack, "stack to read (Pulumi.<stack>.yaml), through the local backend")
	outputsFile := flags.String("outputs", "", "read the stack outputs from this file (`pulumi stack output --json --show-secrets`) instead of the local backend")
	configFile := flags.String("config", "", "with --outputs: the stack settings (`pulumi config --json --show-secrets`)")
	fleetName := flags.String("fleet", "", "only this fleet")
	asJSON := flags.Bool("json", false, "print JSON")
	check := flags.Bool("check", false, "exit 1 unless every fleet's managers are all ready")
	waitIdle := flags.Bool("wait-idle", false, "wait until the runners run no job")
	timeout := flags.Duration("timeout", 6*time.Hour, "with --wait-idle: how long to wait at most")
	flags.Usage = func() {
		fmt.Fprintln(flags.Output(), "usage: go run ./cmd/status [--stack NAME | --outputs FILE --config FILE] [--fleet NAME] [--json] [--check] [--wait-idle [--timeout D]]")
		flags.PrintDefaults()
	}
	_ = flags.Parse(os.Args[1:]) // ExitOnError
	if flags.NArg() != 0 || (*outputsFile == "") != (*configFile == "") {
		flags.Usage()
		os.Exit(2)
	}
	ctx := context.Background()
	stack, err := openStack(ctx, *stackName, *outputsFile, *configFile)
	if err == nil {
		err = run(ctx, stack, options{fleet: *fleetName, json: *asJSON, check: *check, waitIdle: *waitIdle, timeout: *timeout}, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

type options struct {
	fleet           string
	json, check     bool
	waitIdle        bool
	timeout         time.Duration
	pollEvery       time.Duration
	now             func() time.Time
	overrideSources func(*status.Sources)
}

// errNotReady is --check's failure.
var errNotReady = fmt.Errorf("not every fleet's managers are ready")

func run(ctx context.Context, stack status.Stack, o options, out io.Writer) error {
	targets, err := stack.Targets()
	if err != nil {
		return err
	}
	if o.fleet != "" {
		var only []status.Target
		for _, t := range targets {
			if t.Fleet == o.fleet {
				only = append(only, t)
			}
		}
		if len(only) == 0 {
			return fmt.Errorf("the stack has no fleet %q", o.fleet)
		}
		targets = only
	}
	src, err := stack.Sources()
	if err != nil {
		return err
	}
	if o.overrideSources != nil {
		o.overrideSources(&src)
	}
	now := time.Now
	if o.now != nil {
		now = o.now
	}
	if o.waitIdle {
		var runners []int64
		for _, t := range targets {
			if t.RunnerID == 0 {
				return fmt.Errorf("fleet %s: the stack does not know its runner (a token in an existing Secret): watch its jobs in GitLab", t.Fleet)
			}
			runners = append(runners, t.RunnerID)
		}
		ctx, cancel := context.WithTimeout(ctx, o.timeout)
		defer cancel()
		every := o.pollEvery
		if every == 0 {
			every = 10 * time.Second
		}
		return status.WaitIdle(ctx, src.Gitlab, runners, every, func(running map[int64][]int64) {
			if len(running) == 0 {
				fmt.Fprintf(out, "%s no job running\n", now().UTC().Format(time.RFC3339))
				return
			}
			fmt.Fprintf(out, "%s still running (runner: jobs): %v\n", now().UTC().Format(time.RFC3339), running)
		})
	}
	fleets := status.Read(ctx, targets, src)
	if o.json {
		data, err := json.MarshalIndent(fleets, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(out, string(data))
	} else {
		status.Render(out, fleets, now())
	}
	if o.check {
		for _, f := range fleets {
			if !f.Ready() {
				return errNotReady
			}
		}
	}
	return nil
}

// openStack reads the stack from the local backend, or from the files a
// normal Pulumi install writes.
func openStack(ctx context.Context, name, outputsFile, configFile string) (status.Stack, error) {
	if outputsFile != "" {
		return stackFromFiles(outputsFile, configFile)
	}
	root, err := os.Getwd()
	if err != nil {
		return status.Stack{}, err
	}
	if _, err := os.Stat(filepath.Join(root, "Pulumi.yaml")); err != nil {
		return status.Stack{}, fmt.Errorf("run from the repository root (no Pulumi.yaml in %s), or give --outputs and --config", root)
	}
	opts := localengine.DefaultOptions(root, name)
	env := map[string]string{"KUBECONFIG": envOr("KUBECONFIG", filepath.Join(root, ".local", "cluster", "kubeconfig"))}
	if token := os.Getenv("GITLAB_TOKEN"); token != "" {
		env["GITLAB_TOKEN"] = token
	} else if data, err := os.ReadFile(filepath.Join(root, ".local", "gitlab", "admin-token")); err == nil {
		env["GITLAB_TOKEN"] = strings.TrimSpace(string(data)) // the local GitLab stand-in's
	}
	opts.Env = env
	s, err := localengine.Stack(ctx, name, opts)
	if err != nil {
		return status.Stack{}, err
	}
	return status.FromStack(ctx, s, func(key string) string {
		if v, ok := env[key]; ok {
			return v
		}
		return os.Getenv(key)
	})
}

// stackFromFiles reads `pulumi stack output --json --show-secrets` and
// `pulumi config --json --show-secrets`.
func stackFromFiles(outputsFile, configFile string) (status.Stack, error) {
	s := status.Stack{Outputs: map[string]any{}, Config: map[string]string{}, Getenv: os.Getenv}
	data, err := os.ReadFile(outputsFile)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(data, &s.Outputs); err != nil {
		return s, fmt.Errorf("%s is not `pulumi stack output --json`: %w", outputsFile, err)
	}
	data, err = os.ReadFile(configFile)
	if err != nil {
		return s, err
	}
	var config map[string]struct {
		Value       *string `json:"value"`
		ObjectValue any     `json:"objectValue"`
	}
	if err := json.Unmarshal(data, &config); err != nil {
		return s, fmt.Errorf("%s is not `pulumi config --json`: %w", configFile, err)
	}
	for k, v := range config {
		switch {
		case v.Value != nil:
			s.Config[k] = *v.Value
		case v.ObjectValue != nil:
			encoded, _ := json.Marshal(v.ObjectValue)
			s.Config[k] = string(encoded)
		}
	}
	return s, nil
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

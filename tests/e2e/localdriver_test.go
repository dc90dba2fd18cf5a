//go:build e2e

package e2e

// The local driver (cmd/local, localengine) contained: its public
// development passphrase never touches a stack other than dev, and its
// recovery after a killed engine deletes only the runner whose token was
// lost, never the one the fleet runs on.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/localengine"
)

// localDriver builds cmd/local once per test into dir.
func localDriver(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "local")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/local")
	cmd.Dir = h.root
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "building cmd/local: %s", out)
	return bin
}

// environWithout is the process environment without the named variables.
func environWithout(names ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		keep := true
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				keep = false
			}
		}
		if keep {
			env = append(env, kv)
		}
	}
	return env
}

// `go run ./cmd/local --stack production ...` never encrypts the production
// stack file with the public development passphrase: without the stack's
// own passphrase it fails and leaves the file as it was, with the public
// one it is refused, and with the caller's own passphrase the stack's
// secrets are encrypted with that one (the public one cannot read them).
func TestContainmentProductionStackKeepsItsSecrets(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"Pulumi.yaml", "Pulumi.production.yaml"} {
		data, err := os.ReadFile(filepath.Join(h.root, f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), data, 0o644))
	}
	stackFile := filepath.Join(dir, "Pulumi.production.yaml")
	original, err := os.ReadFile(stackFile)
	require.NoError(t, err)
	require.NotContains(t, string(original), "encryptionsalt", "the committed production stack file has no salt yet")
	bin := localDriver(t, t.TempDir())

	run := func(extraEnv ...string) (string, error) {
		cmd := exec.Command(bin, "--stack", "production", "preview")
		cmd.Dir = dir
		cmd.Env = append(environWithout("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"), extraEnv...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := run()
	require.Error(t, err, "no passphrase for production: %s", out)
	assert.Contains(t, out, "PULUMI_CONFIG_PASSPHRASE")
	unchanged, _ := os.ReadFile(stackFile)
	assert.Equal(t, string(original), string(unchanged), "the production stack file is untouched")

	out, err = run("PULUMI_CONFIG_PASSPHRASE=" + localengine.LocalPassphrase)
	require.Error(t, err, "the public passphrase is refused for production: %s", out)
	assert.Contains(t, out, "only the dev stack may use")
	unchanged, _ = os.ReadFile(stackFile)
	assert.Equal(t, string(original), string(unchanged), "the production stack file is untouched")

	// The caller's own passphrase: the stack is created and its secrets are
	// encrypted with that passphrase.
	ctx := context.Background()
	opts := localengine.Options{WorkDir: dir, StateDir: filepath.Join(dir, "state"), PulumiHome: h.pulumiHome,
		PulumiBin: h.pulumiBin, Env: map[string]string{"PULUMI_CONFIG_PASSPHRASE": "the production passphrase"}}
	stack, err := localengine.Stack(ctx, "production", opts)
	require.NoError(t, err)
	require.NoError(t, stack.SetConfig(ctx, "gitlab:token", auto.ConfigValue{Value: "glpat-production", Secret: true}))
	written, err := os.ReadFile(stackFile)
	require.NoError(t, err)
	assert.Contains(t, string(written), "encryptionsalt")
	assert.NotContains(t, string(written), "glpat-production")
	value, err := stack.GetConfig(ctx, "gitlab:token")
	require.NoError(t, err)
	assert.Equal(t, "glpat-production", value.Value)

	public := opts
	public.Env = nil
	public.DevelopmentSecrets = true
	withPublic, err := localengine.Stack(ctx, "production", public)
	if err == nil {
		_, err = withPublic.GetConfig(ctx, "gitlab:token")
	}
	require.Error(t, err, "the public passphrase cannot read the production secret")
	assert.Contains(t, err.Error(), "passphrase")
}

// An engine killed while it creates a replacement runner (token rotation,
// `up --replace`): GitLab then holds two runners with the fleet's
// description, the one in use (in the state) and the new one whose token
// was lost. Recovery deletes only the lost one: the fleet keeps running on
// its runner and token, and GitLab holds exactly one runner.
func TestContainmentRecoverSparesTheRunnerInUse(t *testing.T) {
	const name, group = "contain-recover", 63
	ns := "gitlab-runner-" + name
	s := newStack(t, "contain-recover", groupFleet(name, group))
	// From the first up on, so that the provider's configuration never changes.
	s.setConfig(t, "gitlab:retries", faultHoldRetries)
	description := faultDescription(s, name)
	s.up(t)
	waitReady(t, ns, name)
	inUse := s.runnerID(t, name)
	token := tokenOf(t, name)
	var runnerURN string
	for _, r := range deployment(t, s).Resources {
		if r.Type == "gitlab:index/userRunner:UserRunner" {
			runnerURN = string(r.URN)
		}
	}
	require.NotEmpty(t, runnerURN)

	// Hold the replacement's create open (its read-back fails) and kill the
	// engine inside that window.
	faultHoldCreate(t)
	progress := &lockedWriter{}
	done := make(chan error, 1)
	go func() {
		_, err := s.stack.Up(context.Background(), optup.Replace([]string{runnerURN}), optup.ProgressStreams(progress))
		done <- err
	}()
	faultAwaitHeldCreate(t, done, progress, group, description, 2)
	killEngine(t, s.name)
	require.Error(t, faultAwaitEnd(t, done, progress, "its engine was killed"))
	faultClear(t)
	require.Len(t, faultRunners(t, description), 2, "GitLab holds the runner in use and the replacement")

	pending, err := localengine.PendingCreates(context.Background(), s.stack)
	require.NoError(t, err)
	var runnerPending *localengine.PendingCreate
	for i := range pending {
		if pending[i].Type == "gitlab:index/userRunner:UserRunner" {
			runnerPending = &pending[i]
		}
	}
	require.NotNil(t, runnerPending, "the replacement is a pending create")
	assert.Contains(t, runnerPending.Recorded, inUse, "the runner in use is in the state")

	var recovery bytes.Buffer
	require.NoError(t, localengine.Recover(context.Background(), s.stack, localengine.ProjectCleaner(h.gitlabAPI, h.token), &recovery),
		recovery.String())
	runners := faultRunners(t, description)
	require.Len(t, runners, 1, "only the lost runner was deleted; recovery:\n%s", recovery.String())
	assert.Equal(t, inUse, fmt.Sprint(runners[0].ID), "the runner in use survives")
	assert.NotContains(t, recovery.String(), "deleted runner "+inUse+" ")

	s.up(t)
	waitReady(t, ns, name)
	runners = faultRunners(t, description)
	require.Len(t, runners, 1)
	assert.Equal(t, inUse, s.runnerID(t, name))
	assert.Equal(t, token, tokenOf(t, name), "the managers still hold the live runner's token")
	faultAssertNoChanges(t, s)
}

//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/entrypoint"
	"github.com/glrf/gitlab-runner-fleet/status"
)

// The status command against the suite's cluster and the GitLab stand-in,
// and the drain for maintenance as the docs give it: pause the runner
// (runner.paused: true, `up`), wait until it runs no job (status
// --wait-idle, status.WaitIdle), maintain, unpause.
//
// The job is run by the real runner in the fleet's manager pod, and waits
// at a gate the test opens (gatedJob): the test never asks for a job
// itself, since it would race the manager's own long poll for it (a race
// it lost on a busy machine: the manager took the job with the attach
// strategy, which cannot run here, and held its drain for the job's hour).
func TestStatusAndTheDrainForMaintenance(t *testing.T) {
	t.Parallel()
	const name, project = "status-drain", 88
	ns := "gitlab-runner-" + name
	f := fleet{"name": name, "runner": map[string]any{"type": "project_type", "projectId": project, "tags": []string{"e2e"}},
		"manager": map[string]any{"replicas": 1}}
	s := newStack(t, name, f)
	s.up(t)
	waitReady(t, ns, name)
	// Without rolloutTimeout `up` ended before the managers were ready; the
	// next preview still plans nothing, the stack's outputs included (the
	// rollout is no output).
	steps, _ := s.previewSteps(t)
	assert.Empty(t, steps, "a preview after up changes nothing")
	ctx := context.Background()
	env := map[string]string{"KUBECONFIG": h.kubeconfig, "GITLAB_TOKEN": h.token}
	read := func(t *testing.T) (status.Fleet, status.Sources) {
		t.Helper()
		st, err := status.FromStack(ctx, s.stack, func(k string) string { return env[k] })
		require.NoError(t, err)
		targets, err := st.Targets()
		require.NoError(t, err)
		src, err := st.Sources()
		require.NoError(t, err)
		fleets := status.Read(ctx, targets, src)
		require.Len(t, fleets, 1)
		require.Empty(t, fleets[0].Problems)
		return fleets[0], src
	}
	runnerID, err := strconv.ParseInt(s.runnerID(t, name), 10, 64)
	require.NoError(t, err)
	pod := name + "-0"
	systemID := entrypoint.SystemID(ns, pod)

	live, _ := read(t)
	require.NotNil(t, live.Rollout)
	assert.True(t, live.Rollout.Complete, "rollout: %s", live.Rollout)
	require.Len(t, live.Managers, 1)
	m := live.Managers[0]
	assert.Equal(t, pod, m.Pod)
	assert.True(t, m.Ready)
	assert.Equal(t, systemID, m.SystemID)
	assert.True(t, m.InGitlab, "GitLab's manager matched to its pod by system id")
	require.NotNil(t, live.Runner)
	assert.Equal(t, runnerID, live.Runner.ID)
	assert.False(t, live.Runner.Paused)
	assert.Empty(t, live.Runner.RunningJobs)
	assert.True(t, live.Ready())

	// The command line, as a normal Pulumi install runs it: the outputs and
	// settings in files, KUBECONFIG and GITLAB_TOKEN in the environment.
	out := runStatusCommand(t, s, env, "--check", "--json")
	var printed []status.Fleet
	require.NoError(t, json.Unmarshal([]byte(out), &printed), out)
	require.Len(t, printed, 1)
	assert.Equal(t, name, printed[0].Fleet)
	assert.True(t, printed[0].Ready(), out)

	// A job starts on the manager.
	job, _ := startGatedJob(t, project, "e2e", "status", ns, name, 1)
	live, _ = read(t)
	assert.Equal(t, []int64{job.ID}, live.Runner.RunningJobs)

	// The drain: pause, then wait for the running job.
	f["runner"].(map[string]any)["paused"] = true
	s.setFleets(t, f)
	s.up(t)
	live, src := read(t)
	assert.True(t, live.Runner.Paused, "runner.paused pauses the runner in GitLab")
	assert.Equal(t, []int64{job.ID}, live.Runner.RunningJobs, "a pause lets running jobs finish")
	code, _ := h.gitlab(t, http.MethodPost, "jobs/request", map[string]any{"token": tokenOf(t, name), "system_id": systemID})
	assert.Equal(t, http.StatusNoContent, code, "a paused runner gets no new job")

	reports := make(chan map[int64][]int64, 100)
	done := make(chan error, 1)
	waitCtx, cancel := context.WithTimeout(ctx, jobTimeout) // a bound for a broken test, not a measurement
	defer cancel()
	go func() {
		done <- status.WaitIdle(waitCtx, src.Gitlab, []int64{runnerID}, time.Second, func(r map[int64][]int64) { reports <- r })
	}()
	assert.Equal(t, map[int64][]int64{runnerID: {job.ID}}, <-reports, "WaitIdle sees the running job")
	openGate(t, project, "status")
	require.NoError(t, <-done, "WaitIdle returns once the job is over")
	requireJobSucceeded(t, project, job.ID)
	live, _ = read(t)
	assert.Empty(t, live.Runner.RunningJobs)
	assert.Contains(t, runStatusCommand(t, s, env, "--wait-idle", "--timeout", "2m"), "no job running")

	// Maintenance done: unpause.
	delete(f["runner"].(map[string]any), "paused")
	s.setFleets(t, f)
	s.up(t)
	live, _ = read(t)
	assert.False(t, live.Runner.Paused)
}

// runStatusCommand runs cmd/status with the stack's outputs and settings in
// the files `pulumi stack output --json --show-secrets` and `pulumi config
// --json --show-secrets` write; it returns its output and fails the test when
// it fails.
func runStatusCommand(t *testing.T, s *testStack, env map[string]string, args ...string) string {
	t.Helper()
	ctx := context.Background()
	outputs := map[string]any{}
	for k, v := range s.outputs(t) {
		outputs[k] = v.Value
	}
	config, err := s.stack.GetAllConfig(ctx)
	require.NoError(t, err)
	settings := map[string]map[string]any{}
	for k, v := range config {
		settings[k] = map[string]any{"value": v.Value, "secret": v.Secret}
	}
	dir := t.TempDir()
	write := func(file string, v any) string {
		data, err := json.Marshal(v)
		require.NoError(t, err)
		path := filepath.Join(dir, file)
		require.NoError(t, os.WriteFile(path, data, 0o600))
		return path
	}
	cmd := exec.Command("go", append([]string{"run", "./cmd/status", "--outputs", write("outputs.json", outputs), "--config", write("config.json", settings)}, args...)...)
	cmd.Dir = h.root
	cmd.Env = append(os.Environ(), "KUBECONFIG="+env["KUBECONFIG"], "GITLAB_TOKEN="+env["GITLAB_TOKEN"])
	out, err := cmd.Output()
	var stderr []byte
	if exit, ok := err.(*exec.ExitError); ok {
		stderr = exit.Stderr
	}
	require.NoError(t, err, "cmd/status %v: %s\n%s", args, out, stderr)
	return string(out)
}

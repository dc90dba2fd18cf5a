//go:build e2e

package gitlabrunner_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gitlab.com/gitlab-org/gitlab-runner/common"
	"gitlab.com/gitlab-org/gitlab-runner/helpers/featureflags"
	"gitlab.com/gitlab-org/gitlab-runner/network"
)

// The GitLab stand-in (tools/gitlab) against the runner's own client code
// (network.GitLabClient) and job types (common/spec): the payload it hands
// out is what the runner decodes, accepts and builds a job from, and its
// answers to the job's updates, log patches and cancel are what the runner
// expects.

// standin is a running GitLab stand-in.
type standin struct {
	url   string // http://127.0.0.1:PORT/
	token string // its admin token
}

// startStandin builds the stand-in from this repository's tools module and
// runs it on a free port until the test ends.
func startStandin(t *testing.T) standin {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "gitlab-standin")
	build := exec.Command("go", "build", "-o", bin, "./cmd/gitlab-standin")
	build.Dir = filepath.Join("..", "..") // the tools module
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building the GitLab stand-in: %s", out)

	addrFile, tokenFile := filepath.Join(dir, "addr"), filepath.Join(dir, "token")
	cmd := exec.Command(bin, "--listen", "127.0.0.1:0", "--addr-file", addrFile, "--token-file", tokenFile,
		"--long-poll-timeout", "0", "--trace-update-interval", "3s")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		addr, err := os.ReadFile(addrFile)
		token, terr := os.ReadFile(tokenFile)
		if err == nil && terr == nil && len(addr) > 0 && len(token) > 0 {
			return standin{url: "http://" + strings.TrimSpace(string(addr)) + "/", token: strings.TrimSpace(string(token))}
		}
		require.True(t, time.Now().Before(deadline), "the stand-in did not start within a minute: %s", log.String())
	}
}

// api calls the stand-in's REST API as its administrator.
func (s standin) api(t *testing.T, method, path string, body any, want int) []byte {
	t.Helper()
	data, err := json.Marshal(body)
	require.NoError(t, err)
	req, err := http.NewRequest(method, s.url+"api/v4/"+path, bytes.NewReader(data))
	require.NoError(t, err)
	req.Header.Set("PRIVATE-TOKEN", s.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, want, resp.StatusCode, "%s %s: %s", method, path, out)
	return out
}

func TestRunnerClientTakesAJobFromTheStandin(t *testing.T) {
	s := startStandin(t)
	var runner struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	require.NoError(t, json.Unmarshal(s.api(t, http.MethodPost, "user/runners",
		map[string]any{"runner_type": "group_type", "group_id": 1, "run_untagged": true}, http.StatusCreated), &runner))
	const ciConfig = `variables:
  GIT_STRATEGY: none
build:
  image: alpine:3.22
  services: [{name: "postgres:16", alias: db}]
  variables:
    FF_PRINT_POD_EVENTS: "true"
  script: [echo hello]
`
	var pipeline struct {
		ID int64 `json:"id"`
	}
	require.NoError(t, json.Unmarshal(s.api(t, http.MethodPost, "projects/7/pipeline",
		map[string]any{"ref": "main", "ci_config": ciConfig}, http.StatusCreated), &pipeline))
	var jobs []struct {
		ID int64 `json:"id"`
	}
	require.NoError(t, json.Unmarshal(s.api(t, http.MethodGet, fmt.Sprintf("projects/7/pipelines/%d/jobs", pipeline.ID), nil, http.StatusOK), &jobs))
	require.Len(t, jobs, 1)

	client := network.NewGitLabClient()
	config := common.RunnerConfig{
		RunnerCredentials: common.RunnerCredentials{URL: s.url, Token: runner.Token},
		SystemID:          "s_0123456789ab",
	}
	job, healthy := client.RequestJob(context.Background(), config, nil)
	require.True(t, healthy, "the request counts as a healthy contact")
	require.NotNil(t, job, "the runner's client got the job")
	assert.Equal(t, jobs[0].ID, job.ID)
	assert.True(t, strings.HasPrefix(job.Token, "glcbt-"), "a job token")
	assert.NoError(t, job.UnsupportedOptions(), "no option the runner refuses")
	assert.NoError(t, job.ValidateStepsJobRequest(false), "steps an executor without native steps runs")
	assert.Equal(t, "build", job.JobInfo.Name)
	require.Len(t, job.Services, 1)
	assert.Equal(t, "postgres:16", job.Services[0].Name)
	assert.Equal(t, "db", job.Services[0].Alias)
	assert.Equal(t, "alpine:3.22", job.Image.Name)
	assert.Equal(t, "7", job.Variables.Value("CI_PROJECT_ID"))

	build, err := common.NewBuild(*job, &config, nil, nil, nil)
	require.NoError(t, err)
	assert.True(t, build.IsFeatureFlagOn(featureflags.PrintPodEvents), "a flag the job's variables set is on for the runner")
	assert.Equal(t, common.GitNone, build.GetGitStrategy(), "GIT_STRATEGY from the job's variables")

	credentials := &common.JobCredentials{ID: job.ID, Token: job.Token, URL: s.url}
	update := client.UpdateJob(config, credentials, common.UpdateJobInfo{ID: job.ID, State: common.Running})
	assert.Equal(t, common.UpdateSucceeded, update.State, "the running update is accepted")
	assert.False(t, update.CancelRequested)

	patch := client.PatchTrace(config, credentials, []byte("hello\n"), 0, false)
	assert.Equal(t, common.PatchSucceeded, patch.State, "the log patch is accepted")
	assert.Equal(t, len("hello\n"), patch.SentOffset)
	assert.Equal(t, 3*time.Second, patch.NewUpdateInterval, "GitLab tells the runner how often to send the log")

	s.api(t, http.MethodPost, fmt.Sprintf("projects/7/jobs/%d/cancel", job.ID), nil, http.StatusCreated)
	update = client.UpdateJob(config, credentials, common.UpdateJobInfo{ID: job.ID, State: common.Running})
	assert.True(t, update.CancelRequested, "the runner learns of the cancel from its next update")
	patch = client.PatchTrace(config, credentials, []byte("bye\n"), len("hello\n"), false)
	assert.True(t, patch.CancelRequested, "and from its next log patch")

	var got struct {
		Status string `json:"status"`
	}
	require.NoError(t, json.Unmarshal(s.api(t, http.MethodGet, fmt.Sprintf("projects/7/jobs/%d", job.ID), nil, http.StatusOK), &got))
	assert.Equal(t, "canceling", got.Status, "the job waits for the runner to report")
	trace := s.api(t, http.MethodGet, fmt.Sprintf("projects/7/jobs/%d/trace", job.ID), nil, http.StatusOK)
	assert.Equal(t, "hello\nbye\n", string(trace), "the log the runner's client sent")

	// Another request: nothing left for this runner.
	next, healthy := client.RequestJob(context.Background(), config, nil)
	assert.True(t, healthy)
	assert.Nil(t, next)
}

//go:build e2e

package e2e

// Token rotation with the real runner while jobs keep arriving: the fleet
// must never stop taking jobs, and no manager may ever poll GitLab with the
// token of a runner that was deleted.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/program"
)

// gitlabCall calls the stand-in's API as the admin from any goroutine.
func gitlabCall(method, path string, body any) (int, []byte, error) {
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		reader = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, h.gitlabAPI+strings.TrimPrefix(path, "/"), reader)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("PRIVATE-TOKEN", h.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// jobFeeder queues a job for a tag every few seconds, as a busy project
// would, until stopped.
type jobFeeder struct {
	mu     sync.Mutex
	jobs   []int64
	errs   []error
	stopCh chan struct{}
	done   chan struct{}
}

func startJobFeeder(t *testing.T, project int, tag string, every time.Duration) *jobFeeder {
	t.Helper()
	config := ciConfig(t, map[string]ciJob{"tick": {Tags: []string{tag}, Script: []string{`echo "tick $CI_JOB_ID"`}}})
	f := &jobFeeder{stopCh: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		for {
			id, err := f.queue(project, config)
			f.mu.Lock()
			if err != nil {
				f.errs = append(f.errs, err)
			} else {
				f.jobs = append(f.jobs, id)
			}
			f.mu.Unlock()
			select {
			case <-f.stopCh:
				return
			case <-time.After(every):
			}
		}
	}()
	t.Cleanup(f.stop)
	return f
}

func (f *jobFeeder) queue(project int, config string) (int64, error) {
	status, body, err := gitlabCall(http.MethodPost, fmt.Sprintf("projects/%d/pipeline", project), map[string]any{"ref": "main", "ci_config": config})
	if err != nil || status != http.StatusCreated {
		return 0, fmt.Errorf("creating a pipeline: %d %s %v", status, body, err)
	}
	var pipeline struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(body, &pipeline); err != nil {
		return 0, err
	}
	status, body, err = gitlabCall(http.MethodGet, fmt.Sprintf("projects/%d/pipelines/%d/jobs", project, pipeline.ID), nil)
	var jobs []gitlabJob
	if err == nil && status == http.StatusOK {
		err = json.Unmarshal(body, &jobs)
	}
	if err != nil || len(jobs) != 1 {
		return 0, fmt.Errorf("reading pipeline %d's job: %d %s %v", pipeline.ID, status, body, err)
	}
	return jobs[0].ID, nil
}

// queued is how many jobs it has queued so far.
func (f *jobFeeder) queued() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.jobs)
}

// waitQueued waits until n more jobs than now were queued.
func (f *jobFeeder) waitQueued(t *testing.T, n int) {
	t.Helper()
	want := f.queued() + n
	for deadline := time.Now().Add(5 * time.Minute); f.queued() < want; time.Sleep(500 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "the feeder queued no job for 5 minutes")
	}
}

func (f *jobFeeder) stop() {
	select {
	case <-f.stopCh:
	default:
		close(f.stopCh)
	}
	<-f.done
}

// forbiddenRecord is one 403 the stand-in recorded on a runner endpoint.
type forbiddenRecord struct {
	Time     time.Time `json:"time"`
	Method   string    `json:"method"`
	Path     string    `json:"path"`
	Reason   string    `json:"reason"`
	RunnerID int64     `json:"runner_id"`
}

// deletedTokenPolls are the requests made with the token of one of the
// runners after it was deleted.
func deletedTokenPolls(t *testing.T, runnerIDs ...string) []string {
	t.Helper()
	status, body := h.gitlab(t, http.MethodGet, "/-/standin/forbidden", nil)
	require.Equal(t, http.StatusOK, status, string(body))
	var report struct {
		Requests []forbiddenRecord `json:"requests"`
	}
	require.NoError(t, json.Unmarshal(body, &report))
	var out []string
	for _, r := range report.Requests {
		for _, id := range runnerIDs {
			if r.Reason == "token of a deleted runner" && fmt.Sprint(r.RunnerID) == id {
				out = append(out, fmt.Sprintf("%s %s %s (runner %d)", r.Time.Format(time.RFC3339), r.Method, r.Path, r.RunnerID))
			}
		}
	}
	return out
}

// A rotation (rotateEvery due: the program's clock moved a period on) while
// a project queues a job every few seconds: every job is picked up and
// succeeds, and no manager ever polls with the token of a deleted runner.
func TestRealRunnerRotationWhileJobsArrive(t *testing.T) {
	t.Parallel()
	const name, tag, project, period = "rr-rotate", "rr-rotate-job", 103, time.Hour
	managers := "gitlab-runner-" + name
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	s := newStackAt(t, name, now, fleet{
		"name":   name,
		"runner": map[string]any{"type": "group_type", "groupId": 1, "tags": []string{tag}, "rotateEvery": period.String()},
		// No rolloutTimeout, as in the committed production stack: `up`
		// does not wait for the managers to roll onto the new token.
		"manager": map[string]any{"replicas": 2, "antiAffinity": "required", "concurrent": 2,
			"terminationGracePeriodSeconds": 600},
	})
	s.up(t)
	waitReady(t, managers, name)
	oldID := s.runnerID(t, name)

	feeder := startJobFeeder(t, project, tag, 3*time.Second)
	feeder.waitQueued(t, 2)
	offset.Store(int64(period)) // the next `up` is in the next period
	s.up(t)
	newID := s.runnerID(t, name)
	require.NotEqual(t, oldID, newID, "the rotation made a new runner")
	r, err := program.WaitRollout(context.Background(), kube(t), managers, name, 10*time.Minute, nil)
	require.NoError(t, err)
	require.True(t, r.Complete, "rollout after 10 minutes: %s", r)
	feeder.waitQueued(t, 3)
	// Whatever the program keeps for a while, a later `up` in the same
	// period may finish the rotation (the old runner's deletion).
	s.up(t)
	feeder.waitQueued(t, 3)
	feeder.stop()
	require.Empty(t, feeder.errs, "queueing jobs")

	// A job keeps its runner while that exists (GitLab shows none once it
	// is deleted).
	runners := map[int64]int{}
	for _, id := range feeder.jobs {
		job := requireJobSucceeded(t, project, id)
		if job.Runner != nil {
			runners[job.Runner.ID]++
		}
	}
	t.Logf("%d jobs, by runner: %v (old %s, new %s)", len(feeder.jobs), runners, oldID, newID)
	assert.Positive(t, runners[mustInt(t, newID)], "the new runner took jobs")
	assert.Empty(t, deletedTokenPolls(t, oldID, newID), "no manager polled with the token of a deleted runner (issue 15 point 1: the old runner must live until every manager runs the new token)")
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	_, err := fmt.Sscan(s, &n)
	require.NoError(t, err)
	return n
}

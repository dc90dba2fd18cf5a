package gitlab_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/tools/gitlab"
)

// Every 403 on a runner endpoint is recorded, with the runner it concerns
// when the stand-in knows it (even deleted), and nothing else is.
func TestForbiddenRecords(t *testing.T) {
	in := newCIInstance(t, gitlab.Config{})
	rn := createRunner(t, in.admin, group(gitlab.DevGroupID))
	live := in.newFakeRunner(rn.Token, "s_0123456789ab")
	live.noJob()
	assert.Equal(t, http.StatusOK, live.send(http.MethodPost, "runners/verify", map[string]string{"Content-Type": "application/json"},
		[]byte(`{"token":"`+rn.Token+`","system_id":"s_0123456789ab"}`)).Status)
	assert.Zero(t, in.srv.ForbiddenRequests().Total, "successful requests are not recorded")

	unknown := in.newFakeRunner("glrt-abcdefghijklmnopqrstuvwxyz0", "s_0123456789ab")
	assert.Equal(t, http.StatusForbidden, unknown.requestJob("").Status)
	assert.Equal(t, http.StatusForbidden, unknown.send(http.MethodDelete, "runners/managers",
		map[string]string{"Content-Type": "application/json"}, []byte(`{"token":"glrt-abcdefghijklmnopqrstuvwxyz0","system_id":"s_0123456789ab"}`)).Status)

	_, err := in.admin.Runners.DeleteRegisteredRunnerByID(rn.ID)
	require.NoError(t, err)
	res := live.requestJob("")
	require.Equal(t, http.StatusForbidden, res.Status)
	assert.JSONEq(t, `{"message":"403 Forbidden"}`, string(res.Body))

	// A fault injected as 403 on a runner endpoint is a 403 the runner saw.
	status, _, _ := raw(t, in.admin, http.MethodPost, "../../-/standin/faults", map[string]any{"status": 403, "path": "/api/v4/jobs/request"})
	require.Equal(t, http.StatusCreated, status)
	other := in.newFakeRunner(createRunner(t, in.admin, instanceRunner()).Token, "s_0123456789cd")
	assert.Equal(t, http.StatusForbidden, other.requestJob("").Status)
	other.noJob()

	report := in.srv.ForbiddenRequests()
	assert.Equal(t, int64(4), report.Total)
	require.Len(t, report.Requests, 4)
	want := []gitlab.ForbiddenRequest{
		{Method: "POST", Path: "/api/v4/jobs/request", Auth: gitlab.AuthRunner, Reason: gitlab.ForbiddenUnknownToken, ShortToken: "abcdefghi"},
		{Method: "DELETE", Path: "/api/v4/runners/managers", Auth: gitlab.AuthRunner, Reason: gitlab.ForbiddenUnknownToken, ShortToken: "abcdefghi"},
		{Method: "POST", Path: "/api/v4/jobs/request", Auth: gitlab.AuthRunner, Reason: gitlab.ForbiddenDeletedRunner, RunnerID: rn.ID,
			ShortToken: strings.TrimPrefix(rn.Token, "glrt-")[:9]},
		{Method: "POST", Path: "/api/v4/jobs/request", Auth: gitlab.AuthRunner, Reason: gitlab.ForbiddenFault},
	}
	for i, r := range report.Requests {
		assert.False(t, r.Time.IsZero())
		r.Time = time.Time{}
		assert.Equal(t, want[i], r)
	}

	// The same over HTTP, for tests that run the stand-in as a process.
	var got gitlab.ForbiddenReport
	status, _, body := raw(t, in.admin, http.MethodGet, "../../-/standin/forbidden", nil)
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, json.Unmarshal(body, &got))
	assert.Equal(t, report, got)
	status, _, _ = raw(t, in.developer, http.MethodGet, "../../-/standin/forbidden", nil)
	assert.Equal(t, http.StatusOK, status, "any token with the api scope")
	status, _, _ = raw(t, in.admin, http.MethodDelete, "../../-/standin/forbidden", nil)
	assert.Equal(t, http.StatusNoContent, status)
	assert.Zero(t, in.srv.ForbiddenRequests().Total)
}

// A restarted stand-in keeps its queued and running jobs, their logs, the
// deleted runners' tokens and its 403 records.
func TestJobStatePersists(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.json")
	start := func() (*gitlab.Server, *httptest.Server, *instance) {
		in := newCIInstance(t, gitlab.Config{StatePath: state})
		return in.srv, in.ts, in
	}
	srv, ts, in := start()
	rn := createRunner(t, in.admin, group(gitlab.DevGroupID))
	gone := createRunner(t, in.admin, instanceRunner())
	_, err := in.admin.Runners.DeleteRegisteredRunnerByID(gone.ID)
	require.NoError(t, err)
	pl := pipeline(t, in.maintainer, 7, "main", "a: {script: a}\nb: {script: b}")
	f := in.newFakeRunner(rn.Token, "s_0123456789ab")
	a := f.job()
	require.Equal(t, http.StatusAccepted, f.patch(a.ID, a.Token, 0, "before restart\n").Status)
	require.Equal(t, http.StatusForbidden, in.newFakeRunner(gone.Token, "s_0123456789cd").requestJob("").Status)
	srv.Close()
	ts.Close()

	_, _, in = start()
	f = in.newFakeRunner(rn.Token, "s_0123456789ab")
	jobs := jobsOf(t, in.admin, 7, pl.ID)
	require.Len(t, jobs, 2)
	assert.Equal(t, "running", jobs[0].Status)
	assert.Equal(t, "pending", jobs[1].Status)
	b := f.job()
	assert.Equal(t, jobs[1].ID, b.ID)
	res := f.patch(a.ID, a.Token, 15, "after restart\n")
	require.Equal(t, http.StatusAccepted, res.Status, "the job token still works: %v", res)
	require.Equal(t, http.StatusOK, f.finalUpdate(a.ID, a.Token, "success", "before restart\nafter restart\n", nil).Status)
	trace, _, err := in.admin.Jobs.GetTraceFile(7, a.ID)
	require.NoError(t, err)
	data, _ := io.ReadAll(trace)
	assert.Equal(t, "before restart\nafter restart\n", string(data))

	require.Equal(t, http.StatusForbidden, in.newFakeRunner(gone.Token, "s_0123456789cd").requestJob("").Status)
	report := in.srv.ForbiddenRequests()
	require.Len(t, report.Requests, 2)
	for _, r := range report.Requests {
		assert.Equal(t, gitlab.ForbiddenDeletedRunner, r.Reason)
		assert.Equal(t, gone.ID, r.RunnerID)
	}
	next := pipeline(t, in.maintainer, 7, "main", "c: {script: c}")
	assert.Greater(t, next.ID, pl.ID, "ids go on")
	assert.Equal(t, int64(2), next.IID)
	_, _, err = in.admin.Jobs.CancelJob(7, b.ID)
	require.NoError(t, err)
	assert.Equal(t, "canceling", getJob(t, in.admin, 7, b.ID).Status)
}

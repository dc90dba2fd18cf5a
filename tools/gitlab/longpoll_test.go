package gitlab_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/glrf/gitlab-runner-fleet/tools/gitlab"
)

// waitHeld waits until n job requests are held by long polling (a
// condition, not a duration: the bound only stops a broken test).
func waitHeld(t *testing.T, srv *gitlab.Server, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return srv.LongPolls() == n }, 30*time.Second, time.Millisecond,
		"want %d held job requests", n)
}

// notYet fails if the request already ended.
func notYet(t *testing.T, done <-chan reply, why string) {
	t.Helper()
	select {
	case res := <-done:
		t.Fatalf("the held request ended (%s): %v", why, res)
	default:
	}
}

// answer waits for a held request's answer (bounded only so that a broken
// stand-in fails the test instead of hanging it).
func answer(t *testing.T, done <-chan reply) reply {
	t.Helper()
	select {
	case res := <-done:
		return res
	case <-time.After(30 * time.Second):
		t.Fatal("the held request was not answered")
		return reply{}
	}
}

// Long polling as Workhorse does it: a request whose last_update is the
// runner's current queue value is held until a job the runner can take is
// enqueued (or the runner changes), then answered 204 without a new
// last_update, so that the runner's next request reaches "Rails" and gets
// the job. The long poll lasts an hour here: only the events end it.
func TestLongPolling(t *testing.T) {
	in := newCIInstance(t, gitlab.Config{Seed: matchSeed(), LongPollTimeout: time.Hour})
	rn := createRunner(t, in.admin, group(11)) // serves app (20), not lib (21)
	f := in.newFakeRunner(rn.Token, "s_0123456789ab")

	first := f.noJob()
	assert.Equal(t, "yes", first.Header.Get("Gitlab-Ci-Builds-Polling"))
	lastUpdate := first.Header.Get("X-GitLab-Last-Update")
	require.NotEmpty(t, lastUpdate)

	done := f.requestJobAsync(context.Background(), lastUpdate)
	waitHeld(t, in.srv, 1)
	pipeline(t, in.admin, 21, "main", oneJob())
	assert.Equal(t, 1, in.srv.LongPolls(), "a job the runner cannot take leaves it waiting")
	notYet(t, done, "a job of another group")

	pl := pipeline(t, in.admin, 20, "main", oneJob())
	res := answer(t, done)
	assert.Equal(t, http.StatusNoContent, res.Status, res.String())
	assert.Empty(t, res.Header.Get("X-GitLab-Last-Update"), "Workhorse's 204 carries no new value")
	assert.Equal(t, 0, in.srv.LongPolls())

	// The runner's value is outdated now: the next request gets the job.
	got := f.requestJob(lastUpdate)
	require.Equal(t, http.StatusCreated, got.Status, got.String())
	assert.Contains(t, string(got.Body), `"pipeline_id":`+itoa(pl.ID))
	// Then no job: 204 with the current value, which is not the old one.
	none := f.requestJob(lastUpdate)
	require.Equal(t, http.StatusNoContent, none.Status)
	current := none.Header.Get("X-GitLab-Last-Update")
	require.NotEmpty(t, current)
	assert.NotEqual(t, lastUpdate, current)

	// Updating the runner ends its long poll (GitLab ticks its queue).
	done = f.requestJobAsync(context.Background(), current)
	waitHeld(t, in.srv, 1)
	_, _, err := in.admin.Runners.UpdateRunnerDetails(rn.ID, &gl.UpdateRunnerDetailsOptions{Paused: gl.Ptr(true)})
	require.NoError(t, err)
	assert.Equal(t, http.StatusNoContent, answer(t, done).Status)
	// Paused: Rails answers at once, with the current value.
	paused := f.requestJob(current)
	require.Equal(t, http.StatusNoContent, paused.Status)
	current = paused.Header.Get("X-GitLab-Last-Update")

	// Deleting the runner drops its queue value without waking the held
	// request (as GitLab does): it stays held until its timeout, or here
	// until the server closes; the next request is refused.
	done = f.requestJobAsync(context.Background(), current)
	waitHeld(t, in.srv, 1)
	_, err = in.admin.Runners.DeleteRegisteredRunnerByID(rn.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, in.srv.LongPolls())
	notYet(t, done, "the runner was deleted")
	in.srv.Close()
	assert.Equal(t, http.StatusNoContent, answer(t, done).Status)
	assert.Equal(t, http.StatusForbidden, f.requestJob(current).Status)
}

// The long polling duration ends a held request with 204; a client that
// goes away ends its own; without long polling a current last_update is
// answered at once by "Rails", with that value.
func TestLongPollingEnds(t *testing.T) {
	short := newCIInstance(t, gitlab.Config{Seed: matchSeed(), LongPollTimeout: time.Millisecond})
	f := short.newFakeRunner(createRunner(t, short.admin, instanceRunner()).Token, "s_0123456789ab")
	lastUpdate := f.noJob().Header.Get("X-GitLab-Last-Update")
	res := f.requestJob(lastUpdate)
	assert.Equal(t, http.StatusNoContent, res.Status)
	assert.Empty(t, res.Header.Get("X-GitLab-Last-Update"), "answered by the long poll")

	long := newCIInstance(t, gitlab.Config{Seed: matchSeed(), LongPollTimeout: time.Hour})
	f = long.newFakeRunner(createRunner(t, long.admin, instanceRunner()).Token, "s_0123456789ab")
	lastUpdate = f.noJob().Header.Get("X-GitLab-Last-Update")
	ctx, cancel := context.WithCancel(context.Background())
	done := f.requestJobAsync(ctx, lastUpdate)
	waitHeld(t, long.srv, 1)
	cancel()
	answer(t, done)
	waitHeld(t, long.srv, 0)

	off := newCIInstance(t, gitlab.Config{Seed: matchSeed()})
	f = off.newFakeRunner(createRunner(t, off.admin, instanceRunner()).Token, "s_0123456789ab")
	first := f.noJob()
	assert.Empty(t, first.Header.Get("Gitlab-Ci-Builds-Polling"))
	lastUpdate = first.Header.Get("X-GitLab-Last-Update")
	res = f.requestJob(lastUpdate)
	assert.Equal(t, http.StatusNoContent, res.Status)
	assert.Equal(t, lastUpdate, res.Header.Get("X-GitLab-Last-Update"), "Rails: the value is current")
}

package gitlab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"time"
)

// Which runner gets which job, and the long polling in front of
// POST /jobs/request.
//
// GitLab keeps a "queue value" per runner (Redis key
// runner:build_queue:<token>): a random string that changes ("ticks")
// whenever a job the runner could take is enqueued or the runner is
// updated. Rails answers a job request whose last_update equals the current
// value with 204 at once, without looking for a job, and otherwise with a
// job or a 204 that carries the current value in X-GitLab-Last-Update.
// Workhorse, in front of Rails, holds a request whose last_update equals
// the current value until the value changes or the long polling duration
// passes, then answers 204 itself; the runner's next request then carries
// an outdated value and reaches Rails. The stand-in does the same, with the
// queue values in memory: after a restart every runner's first request
// reaches "Rails", as after a Redis flush.

// newQueueValue is a fresh random queue value (SecureRandom.hex).
func newQueueValue() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ensureQueueValueLocked is Ci::Runner#ensure_runner_queue_value: the
// runner's value, created if it has none.
func (s *Server) ensureQueueValueLocked(rn *runner) string {
	if s.queueValues[rn.ID] == "" {
		s.queueValues[rn.ID] = newQueueValue()
	}
	return s.queueValues[rn.ID]
}

// tickRunnerLocked is Ci::Runner#tick_runner_queue: a new value, which
// ends the runner's long polls (Workhorse's "seen change").
func (s *Server) tickRunnerLocked(rn *runner) {
	s.queueValues[rn.ID] = newQueueValue()
	for ch := range s.pollWaiters[rn.ID] {
		close(ch)
	}
	delete(s.pollWaiters, rn.ID)
}

// tickRunnersForJobLocked ticks every runner that can take j
// (Ci::UpdateBuildQueueService#tick_for).
func (s *Server) tickRunnersForJobLocked(j *job) {
	for _, rn := range s.st.Runners {
		if s.runnerMatchesJobLocked(rn, j) {
			s.tickRunnerLocked(rn)
		}
	}
}

// runnerMatchesJobLocked is whether rn may take j, paused aside: its scope
// covers the job's project (instance runners every project, group runners
// the projects of their group and its subgroups, project runners the
// projects they are assigned to), it is not ref_protected or the job's ref
// is protected, and it has every tag of the job (an untagged job needs
// run_untagged) - GitLab's Ci::RegisterJobService queries and
// Gitlab::Ci::Matching::RunnerMatcher.
func (s *Server) runnerMatchesJobLocked(rn *runner, j *job) bool {
	switch rn.RunnerType {
	case RunnerTypeGroup:
		p := s.dir.projects[j.ProjectID]
		if p == nil || !slices.ContainsFunc(s.dir.ancestors(s.dir.groups[p.GroupID]), func(g *group) bool { return g.ID == rn.GroupID }) {
			return false
		}
	case RunnerTypeProject:
		if !slices.Contains(rn.projectIDs(), j.ProjectID) {
			return false
		}
	}
	if rn.AccessLevel == AccessRefProtected && !s.pipelines[j.PipelineID].Protected {
		return false
	}
	if len(j.Spec.Tags) == 0 && !rn.RunUntagged {
		return false
	}
	for _, t := range j.Spec.Tags {
		if !slices.Contains(rn.TagList, t) {
			return false
		}
	}
	return true
}

// pickJobLocked is the job rn gets, or nil: the oldest queued job it
// matches; instance runners take first the jobs of the projects with the
// fewest jobs running on instance runners (GitLab's fair scheduling).
func (s *Server) pickJobLocked(rn *runner) *job {
	var running map[int64]int
	if rn.RunnerType == RunnerTypeInstance {
		running = map[int64]int{}
		for _, j := range s.st.Jobs {
			if j.executing() && j.InstanceRunner {
				running[j.ProjectID]++
			}
		}
	}
	var best *job
	for _, j := range s.st.Jobs {
		if !j.queued() || !s.runnerMatchesJobLocked(rn, j) {
			continue
		}
		if best == nil || (running != nil && running[j.ProjectID] < running[best.ProjectID]) {
			best = j
		}
	}
	return best
}

// longPoll is Workhorse's part of a job request: it returns true when the
// request must go on to "Rails" (the runner's queue value differs from
// lastUpdate, or the token is unknown), and false when it held the request
// and the caller must answer 204: the value changed meanwhile, the long
// polling duration passed, the client went away or the server closes.
func (s *Server) longPoll(ctx context.Context, token, lastUpdate string) bool {
	if s.cfg.LongPollTimeout <= 0 || token == "" || lastUpdate == "" {
		return true
	}
	s.mu.Lock()
	rn := s.byToken[digest(token)]
	if rn == nil || s.queueValues[rn.ID] != lastUpdate || s.closed {
		s.mu.Unlock()
		return true
	}
	ch := make(chan struct{})
	if s.pollWaiters[rn.ID] == nil {
		s.pollWaiters[rn.ID] = map[chan struct{}]struct{}{}
	}
	s.pollWaiters[rn.ID][ch] = struct{}{}
	s.mu.Unlock()

	timer := time.NewTimer(s.cfg.LongPollTimeout)
	defer timer.Stop()
	select {
	case <-ch:
		return false
	case <-timer.C:
	case <-ctx.Done():
	case <-s.closing:
	}
	s.mu.Lock()
	delete(s.pollWaiters[rn.ID], ch)
	if len(s.pollWaiters[rn.ID]) == 0 {
		delete(s.pollWaiters, rn.ID)
	}
	s.mu.Unlock()
	return false
}

// LongPolls is the number of job requests held by long polling now.
func (s *Server) LongPolls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ws := range s.pollWaiters {
		n += len(ws)
	}
	return n
}

// Close ends the long polls in progress (they answer 204) and makes later
// job requests skip long polling, so that an http.Server's Shutdown or an
// httptest.Server's Close does not wait for them. Call it before those.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.closing)
	}
}

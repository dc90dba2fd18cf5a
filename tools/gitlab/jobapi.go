package gitlab

import (
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The endpoints a runner calls with a job token while it runs a job:
//
//	PUT   /jobs/:id        state running|success|failed (pending to keep a two-phase job), failure_reason,
//	                       exit_code, output {checksum, bytesize}; token in the body
//	PATCH /jobs/:id/trace  a slice of the log; Content-Range: start-end; token in JOB-TOKEN (or ?token=)
//
// Both authenticate the job as GitLab does (API::Ci::Helpers::Runner
// authenticate_job!): 403 {"message":"403 Forbidden"} for a job that does
// not exist or a token that is not that job's (GitLab answers 403, not 404,
// so that the runner stops), 403 with Job-Status and "403 Forbidden - Job
// is not processing on runner" for a job that is no longer running (the
// runner aborts it). Each 403 is recorded (forbidden.go). A request that
// passes counts as a contact of the job's runner and manager.

// maxTracePatch bounds one PATCH of the log (the runner sends at most
// 1 MiB, DefaultTracePatchLimit).
const maxTracePatch = 4 << 20

// traceUpdateInterval is what X-GitLab-Trace-Update-Interval tells the
// runner: how often to send the log (Gitlab::Ci::Trace#update_interval:
// 30 s, or 3 s while someone watches the log).
func (s *Server) traceUpdateInterval() string {
	iv := s.cfg.TraceUpdateInterval
	if iv <= 0 {
		iv = DefaultTraceUpdateInterval
	}
	return strconv.Itoa(max(1, int(iv/time.Second)))
}

// authJobLocked is authenticate_job!; it answers 403 itself and returns
// nil when the request must stop. The caller holds s.mu.
func (s *Server) authJobLocked(w http.ResponseWriter, r *http.Request, id int64, token string) *job {
	j := s.jobs[id]
	switch {
	case j == nil:
		s.recordForbiddenLocked(r, ForbiddenRequest{Auth: AuthJob, Reason: ForbiddenJobNotFound, JobID: id,
			ShortToken: shortToken(token)})
		writeStatus(w, http.StatusForbidden)
		return nil
	case token == "" || j.TokenSHA256 == "" || digest(token) != j.TokenSHA256:
		rec := ForbiddenRequest{Auth: AuthJob, Reason: ForbiddenJobToken, JobID: id, ShortToken: shortToken(token)}
		if i := slices.IndexFunc(s.st.Jobs, func(o *job) bool { return o.TokenSHA256 == digest(token) }); i >= 0 {
			rec.Reason = ForbiddenJobToken + " (the token of job " + strconv.FormatInt(s.st.Jobs[i].ID, 10) + ")"
		}
		s.recordForbiddenLocked(r, rec)
		writeStatus(w, http.StatusForbidden)
		return nil
	case !j.processingOnRunner():
		s.recordForbiddenLocked(r, ForbiddenRequest{Auth: AuthJob, Reason: ForbiddenNotProcessing, JobID: id,
			RunnerID: j.RunnerID})
		w.Header().Set("Job-Status", j.Status)
		writeForbidden(w, "Job is not processing on runner")
		return nil
	}
	// heartbeat_runner: the runner and the job's manager were in contact.
	now := s.now()
	if rn := s.byID[j.RunnerID]; rn != nil {
		rn.contact(now)
		ip, _, _ := net.SplitHostPort(r.RemoteAddr)
		for _, m := range rn.Managers {
			if m.ID == j.ManagerID {
				m.ContactedAt, m.IPAddress = now, ip
			}
		}
	}
	return j
}

// jobIDFromPath reads {id}, answering 400 as Grape does.
func jobIDFromPath(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "id is invalid")
		return 0, false
	}
	return id, true
}

// handleUpdateJob is PUT /jobs/:id (Ci::UpdateBuildStateService). It
// answers with the job's status in Job-Status (canceling tells the runner
// to cancel; canceled or failed to abort) and the status code as body:
//
//	200  applied (running is a keep-alive; success and failed end the job;
//	     a canceling job ends canceled whatever the runner reports)
//	202  a final state whose log is not complete yet (what the runner
//	     reports in output.checksum and output.bytesize is not what the
//	     stand-in has): send the rest and retry, after
//	     X-GitLab-Trace-Update-Interval seconds; after 5 minutes the state
//	     is applied anyway
//	400  a state that does not fit (or a two-phase job confirmed with
//	     anything but pending or running)
//	409  (two-phase) a job already confirmed by another manager
func (s *Server) handleUpdateJob(w http.ResponseWriter, r *http.Request) {
	id, ok := jobIDFromPath(w, r)
	if !ok {
		return
	}
	p, err := readParams(w, r)
	if err != nil {
		writeParamError(w, err)
		return
	}
	token, _ := p.str("token")
	if token == "" {
		writeError(w, http.StatusBadRequest, "token is missing")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.authJobLocked(w, r, id, token)
	if j == nil {
		return
	}
	status, backoff := s.updateJobStateLocked(j, p)
	if err := s.saveLocked(); err != nil {
		writeStatus(w, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Job-Status", j.Status)
	if backoff > 0 {
		w.Header().Set("X-GitLab-Trace-Update-Interval", strconv.Itoa(backoff))
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, strconv.Itoa(status))
}

// updateJobStateLocked applies a job update; it returns the status code
// and, for 202, the backoff in seconds.
func (s *Server) updateJobStateLocked(j *job, p params) (int, int) {
	state, _ := p.str("state")
	if j.waitingForAck() {
		switch state {
		case StatusPending: // the runner is still preparing: a keep-alive
			return http.StatusOK, 0
		case StatusRunning: // confirmed: the job runs on that manager
			s.startLocked(j, j.AckManagerID)
		default:
			return http.StatusBadRequest, 0
		}
	}
	output := params{}
	if o, ok := p["output"].(map[string]any); ok {
		output = o
	}
	checksum, _ := output.str("checksum")
	if checksum == "" {
		checksum, _ = p.str("checksum")
	}
	bytesize, _ := output.integer("bytesize")
	if state != StatusRunning && checksum != "" {
		now := s.now()
		if j.PendingStateAt == nil {
			j.PendingStateAt = &now
		}
		waited := now.Sub(*j.PendingStateAt)
		if !s.traceCompleteLocked(j, checksum, bytesize) && waited <= acceptTimeout {
			return http.StatusAccepted, backoffSeconds(waited)
		}
	}
	switch state {
	case StatusRunning:
		return http.StatusOK, 0
	case StatusSuccess:
		s.finishLocked(j, StatusSuccess, "", nil)
		return http.StatusOK, 0
	case StatusFailed:
		reason, _ := p.str("failure_reason")
		if !slices.Contains(failureReasons, reason) {
			reason = "unknown_failure"
		}
		var exit *int
		if n, err := p.integer("exit_code"); err == nil && n != nil {
			e := int(*n)
			exit = &e
		}
		s.finishLocked(j, StatusFailed, reason, exit)
		return http.StatusOK, 0
	}
	return http.StatusBadRequest, 0
}

// traceCompleteLocked reports whether the stand-in holds the whole log the
// runner reports: its size and CRC32 match.
func (s *Server) traceCompleteLocked(j *job, checksum string, bytesize *int64) bool {
	if bytesize != nil {
		if n, err := s.traces.size(j.ID); err != nil || n != *bytesize {
			return false
		}
	}
	sum, err := s.traces.checksum(j.ID)
	return err == nil && sum == checksum
}

// backoffSeconds is the retry interval of a 202, growing with the time
// since the first final update (Gitlab::Ci::Runner::Backoff): 1, 2, 4, 8,
// at most 16 seconds.
func backoffSeconds(waited time.Duration) int {
	b := 1
	for b < 16 && time.Duration(2*b)*time.Second <= waited {
		b *= 2
	}
	return b
}

// handlePatchTrace is PATCH /jobs/:id/trace (Ci::AppendBuildTraceService):
// the body is appended when Content-Range starts where the stand-in's log
// ends. 202 with Range: 0-<new size>, Job-Status and
// X-GitLab-Trace-Update-Interval; 416 with Range: 0-<size> when it starts
// elsewhere (the runner resends from there); 400 without Content-Range;
// past 100 MiB the job fails (trace_size_exceeded) and the answer is 403.
func (s *Server) handlePatchTrace(w http.ResponseWriter, r *http.Request) {
	id, ok := jobIDFromPath(w, r)
	if !ok {
		return
	}
	token := r.URL.Query().Get("token")
	if token == "" {
		token = r.Header.Get("JOB-TOKEN")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTracePatch))
	if err != nil {
		writeStatus(w, http.StatusRequestEntityTooLarge)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.authJobLocked(w, r, id, token)
	if j == nil {
		return
	}
	contentRange, ok := r.Header["Content-Range"]
	if !ok {
		writeMessage(w, http.StatusBadRequest, "400 Missing header Content-Range")
		return
	}
	// GitLab reads the start with Ruby's to_i and ignores the end (the
	// runner's end is inclusive, the length of the body decides).
	start := leadingInt(strings.SplitN(contentRange[0], "-", 2)[0])
	end := start + int64(len(body))
	if end > traceSizeLimit {
		s.finishLocked(j, StatusFailed, "trace_size_exceeded", nil)
		s.recordForbiddenLocked(r, ForbiddenRequest{Auth: AuthJob, Reason: ForbiddenTraceTooLarge, JobID: j.ID, RunnerID: j.RunnerID})
		writeStatus(w, http.StatusForbidden)
		return
	}
	size, err := s.traces.size(j.ID)
	if err == nil && size == start {
		size, err = s.traces.append(j.ID, body)
	}
	if err != nil {
		s.log.Error("writing a job trace failed", "job", j.ID, "err", err)
		writeStatus(w, http.StatusInternalServerError)
		return
	}
	if size != end {
		w.Header().Set("Range", "0-"+strconv.FormatInt(size, 10))
		writeMessage(w, http.StatusRequestedRangeNotSatisfiable, "416 Range Not Satisfiable")
		return
	}
	w.Header().Set("Job-Status", j.Status)
	w.Header().Set("Range", "0-"+strconv.FormatInt(size, 10))
	w.Header().Set("X-GitLab-Trace-Update-Interval", s.traceUpdateInterval())
	w.WriteHeader(http.StatusAccepted)
}

// leadingInt is Ruby's String#to_i: the leading decimal digits (after
// blanks and a sign), 0 when there are none.
func leadingInt(s string) int64 {
	s = strings.TrimLeft(s, " \t")
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimLeft(s, "+-")
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' || n > 1<<40 {
			break
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		return -n
	}
	return n
}

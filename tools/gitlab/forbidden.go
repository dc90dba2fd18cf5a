package gitlab

import (
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Every 403 the stand-in answers on an endpoint a runner calls is recorded,
// so that tests can assert that none happened (no manager polled with a
// deleted token, no job update was refused):
//
//	runner token: POST /runners/verify, POST /jobs/request, DELETE /runners, DELETE /runners/managers
//	job token:    PUT /jobs/:id, PATCH /jobs/:id/trace
//
// A record names the runner when the token is one the stand-in knows or
// knew (a deleted runner's token is recognised by its digest), the job for
// job endpoints, and otherwise the token's short form (the first 9
// characters after its prefix, as gitlab-runner shortens tokens in its
// logs). Records are kept in the state file (the latest maxForbiddenKept,
// and a total) and read through Server.ForbiddenRequests or
//
//	GET    /-/standin/forbidden  {"total": n, "requests": [...]} (a token with the api scope)
//	DELETE /-/standin/forbidden  forget them (204)

// maxForbiddenKept bounds the records kept; Total still counts them all.
const maxForbiddenKept = 1000

// Reasons of a recorded 403.
const (
	ForbiddenUnknownToken  = "unknown runner token"
	ForbiddenDeletedRunner = "token of a deleted runner"
	ForbiddenJobNotFound   = "job not found"
	ForbiddenJobToken      = "invalid job token"
	ForbiddenNotProcessing = "job is not processing on runner"
	ForbiddenTraceTooLarge = "job log too large"
	ForbiddenFault         = "injected fault"
)

// How the refused request authenticated: with a runner token or a job token.
const (
	AuthRunner = "runner_token"
	AuthJob    = "job_token"
)

// ForbiddenRequest is one 403 answered on a runner endpoint.
type ForbiddenRequest struct {
	Time   time.Time `json:"time"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	// Auth is AuthRunner or AuthJob.
	Auth   string `json:"auth"`
	Reason string `json:"reason"`
	// RunnerID is the runner the token belongs or belonged to, if known.
	RunnerID int64 `json:"runner_id,omitempty"`
	// JobID is the job of a job endpoint.
	JobID int64 `json:"job_id,omitempty"`
	// ShortToken is the token's short form when no runner is known.
	ShortToken string `json:"short_token,omitempty"`
}

// ForbiddenReport is what GET /-/standin/forbidden answers.
type ForbiddenReport struct {
	Total    int64              `json:"total"`
	Requests []ForbiddenRequest `json:"requests"`
}

// ForbiddenRequests returns the 403s answered on runner endpoints so far
// (the latest maxForbiddenKept) and how many there were in all.
func (s *Server) ForbiddenRequests() ForbiddenReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ForbiddenReport{Total: s.st.ForbiddenTotal, Requests: append([]ForbiddenRequest{}, s.st.Forbidden...)}
}

// runnerEndpoint reports whether a request goes to an endpoint a runner
// calls (see above).
var runnerEndpoint = regexp.MustCompile(`^/api/v4/(runners/verify|jobs/request|runners|runners/managers|jobs/[0-9]+(/trace)?)$`)

// isJobEndpoint reports whether a runner endpoint authenticates with a job
// token.
func isJobEndpoint(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/api/v4/jobs/") && r.URL.Path != "/api/v4/jobs/request"
}

func isRunnerEndpoint(r *http.Request) bool {
	if !runnerEndpoint.MatchString(r.URL.Path) {
		return false
	}
	switch {
	case r.URL.Path == "/api/v4/runners/verify" || r.URL.Path == "/api/v4/jobs/request":
		return r.Method == http.MethodPost
	case r.URL.Path == "/api/v4/runners" || r.URL.Path == "/api/v4/runners/managers":
		return r.Method == http.MethodDelete
	case strings.HasSuffix(r.URL.Path, "/trace"):
		return r.Method == http.MethodPatch
	}
	return r.Method == http.MethodPut
}

// shortToken is gitlab-runner's helpers.ShortenToken, minus its
// Kubernetes label fix-ups: the known prefix stripped, 9 characters kept.
func shortToken(tok string) string {
	for _, prefix := range []string{RunnerTokenPrefix, JobTokenPrefix, "glrtr-"} {
		tok = strings.TrimPrefix(tok, prefix)
	}
	return tok[:min(9, len(tok))]
}

// recordForbiddenLocked records a 403 and saves it; the caller holds s.mu
// and answers the request.
func (s *Server) recordForbiddenLocked(r *http.Request, rec ForbiddenRequest) {
	rec.Time, rec.Method, rec.Path = s.now(), r.Method, r.URL.Path
	s.st.ForbiddenTotal++
	s.st.Forbidden = append(s.st.Forbidden, rec)
	if n := len(s.st.Forbidden); n > maxForbiddenKept {
		s.st.Forbidden = append([]ForbiddenRequest{}, s.st.Forbidden[n-maxForbiddenKept:]...)
	}
	s.log.Warn("runner request forbidden", "method", r.Method, "path", r.URL.Path, "reason", rec.Reason,
		"runner", rec.RunnerID, "job", rec.JobID, "short_token", rec.ShortToken)
	_ = s.saveLocked()
}

// forbidRunnerTokenLocked answers 403 for a runner token the stand-in does
// not know and records it, naming the deleted runner it belonged to if
// any. The caller holds s.mu.
func (s *Server) forbidRunnerTokenLocked(w http.ResponseWriter, r *http.Request, tok string) {
	rec := ForbiddenRequest{Auth: AuthRunner, Reason: ForbiddenUnknownToken, ShortToken: shortToken(tok)}
	if id, ok := s.deletedTokens[digest(tok)]; ok {
		rec.Reason, rec.RunnerID = ForbiddenDeletedRunner, id
	}
	s.recordForbiddenLocked(r, rec)
	writeStatus(w, http.StatusForbidden)
}

func (s *Server) handleGetForbidden(w http.ResponseWriter, r *http.Request) {
	if s.authorize(w, r, scopesFaults...) == nil {
		return
	}
	writeJSON(w, http.StatusOK, s.ForbiddenRequests())
}

func (s *Server) handleClearForbidden(w http.ResponseWriter, r *http.Request) {
	if s.authorize(w, r, scopesFaults...) == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Forbidden, s.st.ForbiddenTotal = nil, 0
	if err := s.saveLocked(); err != nil {
		writeStatus(w, http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

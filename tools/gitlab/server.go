package gitlab

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Version is what GET /version reports.
const (
	Version  = "18.6.0-standin"
	Revision = "standin"
)

// Config configures a Server.
type Config struct {
	// StatePath is the JSON file runners are saved to and loaded from; empty
	// keeps them in memory only.
	StatePath string
	// Seed holds the users, groups and projects; nil is DefaultSeed().
	Seed *Seed
	// Tokens are personal access tokens the server accepts, besides the
	// seed's and those minted through the API; a token without User is
	// root's.
	Tokens []PersonalAccessToken
	// ExternalURL is used for the web_url fields (default http://localhost).
	ExternalURL string
	// Logger receives one line per request (never a token); nil discards.
	Logger *slog.Logger
	// Now is the clock (default time.Now); tests may fix it.
	Now func() time.Time
	// LongPollTimeout is how long a job request whose last_update is
	// current is held before the 204 (Workhorse's apiCiLongPollingDuration;
	// GitLab's Omnibus package sets 50s). 0 disables long polling, as in a
	// Workhorse without the setting: such requests are answered at once.
	LongPollTimeout time.Duration
	// TraceUpdateInterval is the X-GitLab-Trace-Update-Interval the runner
	// is told after each log patch: how often it sends the log and checks
	// for a cancel. 0 is DefaultTraceUpdateInterval.
	TraceUpdateInterval time.Duration
}

// DefaultTraceUpdateInterval is GitLab's interval for a log nobody watches
// (Gitlab::Ci::Trace::UPDATE_FREQUENCY_DEFAULT).
const DefaultTraceUpdateInterval = 30 * time.Second

// Server is the GitLab stand-in; it is an http.Handler.
type Server struct {
	cfg     Config
	log     *slog.Logger
	started time.Time
	handler http.Handler

	// dir is the seed's users, groups and projects; fixed after New.
	dir *directory

	mu sync.Mutex
	// pats maps the SHA-256 of each personal access token to it.
	pats    map[string]*accessToken
	st      *stateFile
	byID    map[int64]*runner
	byToken map[string]*runner // SHA-256 of the runner token -> runner
	fault   *Fault

	// deletedTokens maps the SHA-256 of a deleted runner's token to its id.
	deletedTokens map[string]int64
	projects      map[int64]*projectState
	pipelines     map[int64]*pipeline
	jobs          map[int64]*job
	traces        *traceStore
	// queueValues and pollWaiters are the runners' queue values and the
	// long polls waiting for them to change (jobqueue.go), by runner id.
	queueValues map[int64]string
	pollWaiters map[int64]map[chan struct{}]struct{}
	// closing is closed by Close, which sets closed.
	closing chan struct{}
	closed  bool
}

// New loads the state file (if any) and returns a ready server.
func New(cfg Config) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ExternalURL == "" {
		cfg.ExternalURL = "http://localhost"
	}
	cfg.ExternalURL = strings.TrimRight(cfg.ExternalURL, "/")
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	seed := cfg.Seed
	if seed == nil {
		seed = DefaultSeed()
	}
	dir, err := newDirectory(seed)
	if err != nil {
		return nil, err
	}
	st, err := loadState(cfg.StatePath)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, log: log, started: cfg.Now(), st: st, dir: dir,
		pats: map[string]*accessToken{}, byID: map[int64]*runner{}, byToken: map[string]*runner{},
		deletedTokens: map[string]int64{}, projects: map[int64]*projectState{}, pipelines: map[int64]*pipeline{},
		jobs: map[int64]*job{}, traces: newTraceStore(cfg.StatePath), queueValues: map[int64]string{},
		pollWaiters: map[int64]map[chan struct{}]struct{}{}, closing: make(chan struct{}),
	}
	for _, t := range append(append([]PersonalAccessToken{}, seed.Tokens...), cfg.Tokens...) {
		if t.Token == "" {
			return nil, fmt.Errorf("token %q is empty", t.Name)
		}
		if len(t.Scopes) == 0 {
			return nil, fmt.Errorf("token %q has no scope", t.Name)
		}
		owner := dir.byName[orString(t.User, UserRoot)]
		if owner == nil {
			return nil, fmt.Errorf("token %q: user %q is not in the seed", t.Name, orString(t.User, UserRoot))
		}
		s.pats[digest(t.Token)] = &accessToken{Name: t.Name, User: owner, Scopes: t.Scopes, CreatedAt: s.started}
	}
	for _, t := range st.Tokens {
		owner := dir.users[t.UserID]
		if owner == nil {
			s.log.Warn("minted token of a user not in the seed is ignored", "token_id", t.ID, "user_id", t.UserID)
			continue
		}
		s.pats[t.TokenSHA256] = &accessToken{ID: t.ID, Name: t.Name, User: owner, Scopes: t.Scopes,
			CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}
	}
	for _, r := range st.Runners {
		if s.byID[r.ID] != nil {
			return nil, fmt.Errorf("state %s: runner %d appears twice", cfg.StatePath, r.ID)
		}
		s.byID[r.ID] = r
		s.byToken[r.TokenSHA256] = r
	}
	if err := s.indexCIState(); err != nil {
		return nil, err
	}
	s.handler = s.logRequests(s.injectFaults(s.routes()))
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// RunnerCount is the number of runners the server knows (for tests and logs).
func (s *Server) RunnerCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

// routes maps the endpoints; see the package documentation.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	const api = "/api/v4"
	mux.HandleFunc("POST "+api+"/user/runners", s.handleCreateRunner)
	mux.HandleFunc("GET "+api+"/runners/all", s.handleListAllRunners)
	mux.HandleFunc("GET "+api+"/runners/{id}", s.handleGetRunner)
	mux.HandleFunc("PUT "+api+"/runners/{id}", s.handleUpdateRunner)
	mux.HandleFunc("DELETE "+api+"/runners/{id}", s.handleDeleteRunner)
	mux.HandleFunc("GET "+api+"/runners/{id}/managers", s.handleListManagers)
	mux.HandleFunc("POST "+api+"/runners/verify", s.handleVerify)
	mux.HandleFunc("POST "+api+"/jobs/request", s.handleJobRequest)
	mux.HandleFunc("PUT "+api+"/jobs/{id}", s.handleUpdateJob)
	mux.HandleFunc("PATCH "+api+"/jobs/{id}/trace", s.handlePatchTrace)
	mux.HandleFunc("GET "+api+"/runners/{id}/jobs", s.handleListRunnerJobs)
	mux.HandleFunc("POST "+api+"/projects/{id}/runners", s.handleAssignProjectRunner)
	mux.HandleFunc("POST "+api+"/projects/{id}/pipeline", s.handleCreatePipeline)
	mux.HandleFunc("GET "+api+"/projects/{id}/pipelines/{pipeline_id}", s.handleGetPipeline)
	mux.HandleFunc("GET "+api+"/projects/{id}/pipelines/{pipeline_id}/jobs", s.handleListPipelineJobs)
	mux.HandleFunc("GET "+api+"/projects/{id}/jobs", s.handleListProjectJobs)
	mux.HandleFunc("GET "+api+"/projects/{id}/jobs/{job_id}", s.handleGetJob)
	mux.HandleFunc("GET "+api+"/projects/{id}/jobs/{job_id}/trace", s.handleGetJobTrace)
	mux.HandleFunc("POST "+api+"/projects/{id}/jobs/{job_id}/cancel", s.handleCancelJob)
	mux.HandleFunc("GET "+api+"/projects/{id}/protected_branches", s.handleListProtectedBranches)
	mux.HandleFunc("POST "+api+"/projects/{id}/protected_branches", s.handleProtectBranch)
	mux.HandleFunc("GET "+api+"/projects/{id}/protected_branches/{name...}", s.handleGetProtectedBranch)
	mux.HandleFunc("DELETE "+api+"/projects/{id}/protected_branches/{name...}", s.handleUnprotectBranch)
	mux.HandleFunc("DELETE "+api+"/runners", s.handleDeleteRunnerByToken)
	mux.HandleFunc("DELETE "+api+"/runners/managers", s.handleUnregisterManager)
	mux.HandleFunc("GET "+api+"/groups/{id}", s.handleGetGroup)
	mux.HandleFunc("GET "+api+"/groups/{id}/runners", s.handleListGroupRunners)
	mux.HandleFunc("GET "+api+"/projects/{id}", s.handleGetProject)
	mux.HandleFunc("GET "+api+"/projects/{id}/runners", s.handleListProjectRunners)
	mux.HandleFunc("GET "+api+"/user", s.handleCurrentUser)
	mux.HandleFunc("POST "+api+"/users/{id}/personal_access_tokens", s.handleCreatePersonalAccessToken)
	mux.HandleFunc("GET "+api+"/version", s.handleVersion)
	mux.HandleFunc("GET /-/health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "GitLab OK")
	})
	mux.HandleFunc("GET /-/standin/faults", s.handleGetFault)
	mux.HandleFunc("POST /-/standin/faults", s.handleSetFault)
	mux.HandleFunc("DELETE /-/standin/faults", s.handleClearFault)
	mux.HandleFunc("GET /-/standin/forbidden", s.handleGetForbidden)
	mux.HandleFunc("DELETE /-/standin/forbidden", s.handleClearForbidden)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "404 Not Found")
	})
	return mux
}

func (s *Server) now() time.Time { return s.cfg.Now().UTC() }

// indexCIState indexes the loaded pipelines, jobs, projects and deleted
// runners, checking that they refer to what exists.
func (s *Server) indexCIState() error {
	for _, d := range s.st.DeletedRunners {
		s.deletedTokens[d.TokenSHA256] = d.ID
	}
	for _, ps := range s.st.Projects {
		if s.dir.projects[ps.ID] == nil {
			return fmt.Errorf("state %s: project %d is not in the seed", s.cfg.StatePath, ps.ID)
		}
		s.projects[ps.ID] = ps
	}
	for _, pl := range s.st.Pipelines {
		if s.dir.projects[pl.ProjectID] == nil {
			return fmt.Errorf("state %s: pipeline %d belongs to project %d, which is not in the seed", s.cfg.StatePath, pl.ID, pl.ProjectID)
		}
		s.pipelines[pl.ID] = pl
	}
	for _, j := range s.st.Jobs {
		if s.pipelines[j.PipelineID] == nil || j.Spec == nil {
			return fmt.Errorf("state %s: job %d has no pipeline or no configuration", s.cfg.StatePath, j.ID)
		}
		s.jobs[j.ID] = j
	}
	return nil
}

func (s *Server) webURL(path string) string { return s.cfg.ExternalURL + "/" + path }

// saveLocked persists the state; the caller holds s.mu. On failure the
// change stays in memory (and is saved with the next change) and the client
// gets a 500, as it would from a GitLab whose database write failed.
func (s *Server) saveLocked() error {
	if err := saveState(s.cfg.StatePath, s.st); err != nil {
		s.log.Error("saving state failed", "path", s.cfg.StatePath, "err", err)
		return errors.New("saving state failed")
	}
	return nil
}

package gitlab

import (
	"net/http"
	"slices"
	"strconv"
)

// The Jobs API as users (and tests) call it with a personal access token:
//
//	GET  /projects/:id/jobs                 Reporter; scope[] filters by status
//	GET  /projects/:id/jobs/:job_id         Reporter
//	GET  /projects/:id/jobs/:job_id/trace   Reporter; the raw log, text/plain
//	POST /projects/:id/jobs/:job_id/cancel  Developer; 201 with the job
//	GET  /runners/:id/jobs                  who may read the runner; ?status=
//
// Lists are newest first, as GitLab orders them.

// jobJSON is GitLab's Ci::Job entity (the fields client-go's Job reads, and
// runner_manager).
type jobJSON struct {
	ID                int64           `json:"id"`
	Status            string          `json:"status"`
	Stage             string          `json:"stage"`
	Name              string          `json:"name"`
	Ref               string          `json:"ref"`
	Tag               bool            `json:"tag"`
	Coverage          *float64        `json:"coverage"`
	AllowFailure      bool            `json:"allow_failure"`
	CreatedAt         string          `json:"created_at"`
	StartedAt         *string         `json:"started_at"`
	FinishedAt        *string         `json:"finished_at"`
	ErasedAt          *string         `json:"erased_at"`
	Duration          *float64        `json:"duration"`
	QueuedDuration    *float64        `json:"queued_duration"`
	User              *userJSON       `json:"user"`
	Commit            commitJSON      `json:"commit"`
	Pipeline          jobPipelineJSON `json:"pipeline"`
	FailureReason     string          `json:"failure_reason,omitempty"`
	WebURL            string          `json:"web_url"`
	Project           jobProjectJSON  `json:"project"`
	Artifacts         []any           `json:"artifacts"`
	Runner            *jobRunnerJSON  `json:"runner"`
	RunnerManager     *managerJSON    `json:"runner_manager"`
	ArtifactsExpireAt *string         `json:"artifacts_expire_at"`
	Archived          bool            `json:"archived"`
	TagList           []string        `json:"tag_list"`
}

type commitJSON struct {
	ID        string   `json:"id"`
	ShortID   string   `json:"short_id"`
	Title     string   `json:"title"`
	Message   string   `json:"message"`
	ParentIDs []string `json:"parent_ids"`
	WebURL    string   `json:"web_url"`
}

type jobPipelineJSON struct {
	ID        int64  `json:"id"`
	IID       int64  `json:"iid"`
	ProjectID int64  `json:"project_id"`
	SHA       string `json:"sha"`
	Ref       string `json:"ref"`
	Status    string `json:"status"`
	Source    string `json:"source"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
	WebURL    string `json:"web_url"`
}

type jobProjectJSON struct {
	CIJobTokenScopeEnabled bool `json:"ci_job_token_scope_enabled"`
}

// jobRunnerJSON is the runner of a job (GitLab's Ci::Runner entity).
type jobRunnerJSON struct {
	ID          int64   `json:"id"`
	Description string  `json:"description"`
	IPAddress   *string `json:"ip_address"`
	Active      bool    `json:"active"`
	Paused      bool    `json:"paused"`
	IsShared    bool    `json:"is_shared"`
	RunnerType  string  `json:"runner_type"`
	Name        *string `json:"name"`
	Online      *bool   `json:"online"`
	Status      string  `json:"status"`
}

// commitTitle is the commit message the stand-in gives every pipeline: it
// has no repository.
const commitTitle = "Commit of the GitLab stand-in (no repository)"

// jobJSON presents j; the caller holds s.mu.
func (s *Server) jobJSON(j *job) jobJSON {
	pl := s.pipelines[j.PipelineID]
	pj := s.projectJSON(s.dir.projects[j.ProjectID])
	out := jobJSON{
		ID: j.ID, Status: j.Status, Stage: j.Spec.Stage, Name: j.Spec.Name, Ref: pl.Ref,
		AllowFailure: j.Spec.AllowFailure, CreatedAt: apiTime(j.CreatedAt),
		StartedAt: optTime(j.StartedAt), FinishedAt: optTime(j.FinishedAt),
		Commit: commitJSON{ID: pl.SHA, ShortID: pl.SHA[:8], Title: commitTitle, Message: commitTitle, ParentIDs: []string{},
			WebURL: pj.WebURL + "/-/commit/" + pl.SHA},
		Pipeline: jobPipelineJSON{ID: pl.ID, IID: pl.IID, ProjectID: pl.ProjectID, SHA: pl.SHA, Ref: pl.Ref,
			Status: pl.Status, Source: pl.Source, CreatedAt: apiTime(pl.CreatedAt), UpdatedAt: apiTime(pl.UpdatedAt),
			WebURL: pj.WebURL + "/-/pipelines/" + strconv.FormatInt(pl.ID, 10)},
		WebURL:    pj.WebURL + "/-/jobs/" + strconv.FormatInt(j.ID, 10),
		Artifacts: []any{},
		TagList:   append([]string{}, j.Spec.Tags...),
	}
	if j.Status == StatusFailed {
		out.FailureReason = j.FailureReason
	}
	if u := s.dir.users[j.UserID]; u != nil {
		uj := s.userJSON(u, false)
		out.User = &uj
	}
	if j.StartedAt != nil {
		end := s.now()
		if j.FinishedAt != nil {
			end = *j.FinishedAt
		}
		d := end.Sub(*j.StartedAt).Seconds()
		out.Duration = &d
		if j.QueuedAt != nil {
			q := j.StartedAt.Sub(*j.QueuedAt).Seconds()
			out.QueuedDuration = &q
		}
	}
	if rn := s.byID[j.RunnerID]; rn != nil {
		b := s.briefJSON(rn)
		out.Runner = &jobRunnerJSON{ID: b.ID, Description: b.Description, IPAddress: b.IPAddress, Active: b.Active,
			Paused: b.Paused, IsShared: b.IsShared, RunnerType: b.RunnerType, Name: b.Name, Online: b.Online, Status: b.Status}
		for _, m := range rn.Managers {
			if m.ID == j.ManagerID {
				mj := s.managerJSONLocked(m)
				out.RunnerManager = &mj
			}
		}
	}
	return out
}

// jobScope reads scope (GET /projects/:id/jobs) as Grape does: a string or
// a list of statuses, each one of CommitStatus::AVAILABLE_STATUSES.
func jobScope(w http.ResponseWriter, r *http.Request) (map[string]bool, bool) {
	p := params{}
	addValues(p, r.URL.Query())
	if !p.has("scope") {
		return nil, true
	}
	list, err := p.strList("scope")
	out := map[string]bool{}
	for _, st := range list {
		if !slices.Contains(jobStatuses, st) {
			err = invalid("scope")
		}
		out[st] = true
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "scope does not have a valid value")
		return nil, false
	}
	return out, true
}

// jobFromPathLocked resolves {job_id} in project p; it answers 404 itself.
// The caller holds s.mu.
func (s *Server) jobFromPathLocked(w http.ResponseWriter, r *http.Request, p *project) *job {
	id, err := strconv.ParseInt(r.PathValue("job_id"), 10, 64)
	j := s.jobs[id]
	if err != nil || j == nil || j.ProjectID != p.ID {
		writeMessage(w, http.StatusNotFound, "404 Not found")
		return nil
	}
	return j
}

// handleListProjectJobs is GET /projects/:id/jobs.
func (s *Server) handleListProjectJobs(w http.ResponseWriter, r *http.Request) {
	u := s.authorize(w, r, scopesGet...)
	if u == nil {
		return
	}
	scope, ok := jobScope(w, r)
	if !ok {
		return
	}
	p := s.projectForUser(w, r, u, AccessReporter)
	if p == nil {
		return
	}
	s.mu.Lock()
	out := []jobJSON{}
	for _, j := range slices.Backward(s.st.Jobs) {
		if j.ProjectID == p.ID && (len(scope) == 0 || scope[j.Status]) {
			out = append(out, s.jobJSON(j))
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, paginate(w, r, out))
}

// handleGetJob is GET /projects/:id/jobs/:job_id.
func (s *Server) handleGetJob(w http.ResponseWriter, r *http.Request) {
	u := s.authorize(w, r, scopesGet...)
	if u == nil {
		return
	}
	p := s.projectForUser(w, r, u, AccessReporter)
	if p == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if j := s.jobFromPathLocked(w, r, p); j != nil {
		writeJSON(w, http.StatusOK, s.jobJSON(j))
	}
}

// handleGetJobTrace is GET /projects/:id/jobs/:job_id/trace: the log as
// the runner sent it.
func (s *Server) handleGetJobTrace(w http.ResponseWriter, r *http.Request) {
	u := s.authorize(w, r, scopesGet...)
	if u == nil {
		return
	}
	p := s.projectForUser(w, r, u, AccessReporter)
	if p == nil {
		return
	}
	s.mu.Lock()
	j := s.jobFromPathLocked(w, r, p)
	var data []byte
	var err error
	if j != nil {
		data, err = s.traces.read(j.ID)
	}
	s.mu.Unlock()
	if j == nil {
		return
	}
	if err != nil {
		s.log.Error("reading a job trace failed", "job", j.ID, "err", err)
		writeStatus(w, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Content-Disposition", `infile; filename="`+strconv.FormatInt(j.ID, 10)+`.log"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(data)
}

// handleCancelJob is POST /projects/:id/jobs/:job_id/cancel. A running job
// whose runner cancels gracefully becomes canceling and its runner learns
// it from the Job-Status of its next trace or job update; any other job
// not finished is canceled at once. A finished job is left as it is (201
// all the same, as GitLab answers).
func (s *Server) handleCancelJob(w http.ResponseWriter, r *http.Request) {
	u := s.authorize(w, r, scopesAdmin...)
	if u == nil {
		return
	}
	p := s.projectForUser(w, r, u, AccessDeveloper)
	if p == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobFromPathLocked(w, r, p)
	if j == nil {
		return
	}
	s.cancelLocked(j)
	if err := s.saveLocked(); err != nil {
		writeStatus(w, http.StatusInternalServerError)
		return
	}
	s.log.Info("job cancel", "job", j.ID, "status", j.Status, "user", u.Username)
	writeJSON(w, http.StatusCreated, s.jobJSON(j))
}

// handleListRunnerJobs is GET /runners/:id/jobs: the jobs a runner has
// processed or is processing, newest first; status filters.
func (s *Server) handleListRunnerJobs(w http.ResponseWriter, r *http.Request) {
	u := s.authorize(w, r, scopesRead...)
	if u == nil {
		return
	}
	status := r.URL.Query().Get("status")
	if status != "" && !slices.Contains(jobStatuses, status) {
		writeError(w, http.StatusBadRequest, "status does not have a valid value")
		return
	}
	s.mu.Lock()
	rn := s.runnerFromPathLocked(w, r)
	if rn == nil {
		s.mu.Unlock()
		return
	}
	if !s.canReadRunner(u, rn) {
		s.mu.Unlock()
		writeForbidden(w, "No access granted")
		return
	}
	out := []jobJSON{}
	for _, j := range slices.Backward(s.st.Jobs) {
		if j.RunnerID == rn.ID && (status == "" || j.Status == status) {
			out = append(out, s.jobJSON(j))
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, paginate(w, r, out))
}

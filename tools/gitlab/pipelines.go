package gitlab

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Pipelines: how tests queue jobs the way a pipeline would.
//
//	POST /projects/:id/pipeline                    Developer; ref, variables [{key, value, variable_type}], ci_config
//	GET  /projects/:id/pipelines/:pipeline_id      Reporter
//	GET  /projects/:id/pipelines/:pipeline_id/jobs Reporter; scope[]
//
// GitLab reads .gitlab-ci.yml from the repository at ref. The stand-in has
// no repository, so the configuration comes in the request: ci_config holds
// the file's content (the subset ciconfig.go reads). This is the stand-in's
// one extension of the API; without ci_config the answer is GitLab's for a
// repository without the file.

// ciConfigParam is the stand-in's extension of POST /projects/:id/pipeline.
const ciConfigParam = "ci_config"

// handleCreatePipeline is POST /projects/:id/pipeline.
func (s *Server) handleCreatePipeline(w http.ResponseWriter, r *http.Request) {
	u := s.authorize(w, r, scopesAdmin...)
	if u == nil {
		return
	}
	prm, err := readParams(w, r)
	if err != nil {
		writeParamError(w, err)
		return
	}
	ref, _ := prm.str("ref")
	if !prm.has("ref") || ref == "" {
		writeError(w, http.StatusBadRequest, "ref is missing")
		return
	}
	vars, err := pipelineVariables(prm)
	if err != nil {
		writeParamError(w, err)
		return
	}
	p := s.projectForUser(w, r, u, AccessDeveloper)
	if p == nil {
		return
	}
	src, _ := prm.str(ciConfigParam)
	if !validRefName(ref) {
		writePipelineError(w, "Reference not found")
		return
	}
	if strings.TrimSpace(src) == "" {
		writePipelineError(w, "Missing CI config file (the GitLab stand-in has no repository: pass the .gitlab-ci.yml content as ci_config)")
		return
	}
	cfg, err := parseCIConfig(src)
	if err != nil {
		writePipelineError(w, err.Error())
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.projectStateLocked(p)
	rule := ps.protectionOf(ref)
	if rule != nil && !u.Admin {
		// Running a pipeline on a protected branch needs the right to push
		// or to merge to it (Gitlab::UserAccess#can_update_branch?).
		level := s.dir.projectAccess(u, p)
		allowedBy := func(required int) bool { return required != AccessNoOne && level >= required }
		if !allowedBy(rule.PushAccessLevel) && !allowedBy(rule.MergeAccessLevel) {
			writePipelineError(w, fmt.Sprintf("You do not have sufficient permission to run a pipeline on '%s'. "+
				"Please select a different branch or contact your administrator for assistance.", ref))
			return
		}
	}
	now := s.now()
	ps.LastPipelineIID++
	pl := &pipeline{
		ID: s.st.NextPipelineID, IID: ps.LastPipelineIID, ProjectID: p.ID, Ref: ref, SHA: refSHA(p.ID, ref),
		Protected: rule != nil, Source: "api", Status: StatusCreated, UserID: u.ID, Variables: vars,
		CreatedAt: now, UpdatedAt: now,
	}
	s.st.NextPipelineID++
	s.st.Pipelines = append(s.st.Pipelines, pl)
	s.pipelines[pl.ID] = pl
	for _, spec := range cfg.Jobs {
		j := &job{ID: s.st.NextJobID, PipelineID: pl.ID, ProjectID: p.ID, Spec: spec, Status: StatusCreated,
			UserID: u.ID, CreatedAt: now}
		s.st.NextJobID++
		s.st.Jobs = append(s.st.Jobs, j)
		s.jobs[j.ID] = j
	}
	s.processPipelineLocked(pl)
	if err := s.saveLocked(); err != nil {
		writeStatus(w, http.StatusInternalServerError)
		return
	}
	s.log.Info("pipeline created", "project", p.ID, "pipeline", pl.ID, "ref", ref, "jobs", len(cfg.Jobs))
	writeJSON(w, http.StatusCreated, s.pipelineJSON(pl))
}

// pipelineVariables reads variables: [{key, value, variable_type}].
func pipelineVariables(prm params) ([]pipelineVariable, error) {
	raw, ok := prm["variables"]
	if !ok || raw == nil {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, invalid("variables")
	}
	var out []pipelineVariable
	for _, e := range list {
		obj, ok := e.(map[string]any)
		if !ok {
			return nil, invalid("variables")
		}
		v := params(obj)
		key, err := v.str("key")
		if err != nil || key == "" {
			return nil, invalid("variables")
		}
		value, err := v.str("value")
		if err != nil {
			return nil, invalid("variables")
		}
		vt, _ := v.str("variable_type")
		switch vt {
		case "":
			vt = "env_var"
		case "env_var", "file":
		default:
			return nil, &paramError{"variables[variable_type] does not have a valid value"}
		}
		out = append(out, pipelineVariable{Key: key, Value: value, VariableType: vt})
	}
	return out, nil
}

// writePipelineError is how GitLab refuses a pipeline it could not create:
// 400 {"message": {"base": [reason]}}.
func writePipelineError(w http.ResponseWriter, reason string) {
	writeMessage(w, http.StatusBadRequest, map[string][]string{"base": {reason}})
}

// validRefName accepts what git check-ref-format accepts for a branch name,
// roughly: the stand-in has no repository, so every well-formed branch
// exists.
func validRefName(ref string) bool {
	if ref == "" || strings.HasPrefix(ref, "-") || strings.HasPrefix(ref, "/") || strings.HasSuffix(ref, "/") ||
		strings.HasSuffix(ref, ".lock") || strings.HasSuffix(ref, ".") || strings.Contains(ref, "..") ||
		strings.Contains(ref, "//") || strings.Contains(ref, "@{") {
		return false
	}
	for _, c := range ref {
		if c <= ' ' || c == 0x7f || strings.ContainsRune("~^:?*[\\", c) {
			return false
		}
	}
	return true
}

// refSHA is the commit a ref points at: the stand-in has no repository, so
// it is derived from the project and ref (stable, like a branch without new
// commits).
func refSHA(projectID int64, ref string) string {
	sum := sha1.Sum([]byte(fmt.Sprintf("gitlab-standin/%d/%s", projectID, ref)))
	return hex.EncodeToString(sum[:])
}

// pipelineJSON is GitLab's Ci::Pipeline entity.
type pipelineJSON struct {
	ID             int64              `json:"id"`
	IID            int64              `json:"iid"`
	ProjectID      int64              `json:"project_id"`
	SHA            string             `json:"sha"`
	Ref            string             `json:"ref"`
	Status         string             `json:"status"`
	Source         string             `json:"source"`
	CreatedAt      string             `json:"created_at"`
	UpdatedAt      string             `json:"updated_at"`
	WebURL         string             `json:"web_url"`
	BeforeSHA      string             `json:"before_sha"`
	Tag            bool               `json:"tag"`
	YamlErrors     *string            `json:"yaml_errors"`
	User           *userJSON          `json:"user"`
	StartedAt      *string            `json:"started_at"`
	FinishedAt     *string            `json:"finished_at"`
	CommittedAt    *string            `json:"committed_at"`
	Duration       *int64             `json:"duration"`
	QueuedDuration *int64             `json:"queued_duration"`
	Coverage       *string            `json:"coverage"`
	Name           *string            `json:"name"`
	DetailedStatus detailedStatusJSON `json:"detailed_status"`
}

// detailedStatusJSON is the detailed_status of a pipeline.
type detailedStatusJSON struct {
	Icon        string `json:"icon"`
	Text        string `json:"text"`
	Label       string `json:"label"`
	Group       string `json:"group"`
	Tooltip     string `json:"tooltip"`
	HasDetails  bool   `json:"has_details"`
	DetailsPath string `json:"details_path"`
	Favicon     string `json:"favicon"`
}

// optTime formats an optional time as GitLab does.
func optTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := apiTime(*t)
	return &s
}

func (s *Server) pipelineJSON(pl *pipeline) pipelineJSON {
	p := s.dir.projects[pl.ProjectID]
	path := s.projectJSON(p).PathWithNamespace
	label := pl.Status
	if label == StatusSuccess {
		label = "passed"
	}
	j := pipelineJSON{
		ID: pl.ID, IID: pl.IID, ProjectID: pl.ProjectID, SHA: pl.SHA, Ref: pl.Ref, Status: pl.Status,
		Source: pl.Source, CreatedAt: apiTime(pl.CreatedAt), UpdatedAt: apiTime(pl.UpdatedAt),
		WebURL: s.webURL(path + "/-/pipelines/" + strconv.FormatInt(pl.ID, 10)), BeforeSHA: zeroSHA,
		StartedAt: optTime(pl.StartedAt), FinishedAt: optTime(pl.FinishedAt),
		DetailedStatus: detailedStatusJSON{Icon: "status_" + pl.Status, Text: label, Label: label, Group: pl.Status,
			Tooltip: label, HasDetails: true, DetailsPath: "/" + path + "/-/pipelines/" + strconv.FormatInt(pl.ID, 10),
			Favicon: "favicon_status_" + pl.Status},
	}
	if u := s.dir.users[pl.UserID]; u != nil {
		uj := s.userJSON(u, false)
		j.User = &uj
	}
	if pl.StartedAt != nil {
		end := s.now()
		if pl.FinishedAt != nil {
			end = *pl.FinishedAt
		}
		d := int64(end.Sub(*pl.StartedAt).Seconds())
		q := int64(pl.StartedAt.Sub(pl.CreatedAt).Seconds())
		j.Duration, j.QueuedDuration = &d, &q
	}
	return j
}

// pipelineFromPath resolves {pipeline_id} in project p; it answers 404
// itself. The caller holds s.mu.
func (s *Server) pipelineFromPathLocked(w http.ResponseWriter, r *http.Request, p *project) *pipeline {
	id, err := strconv.ParseInt(r.PathValue("pipeline_id"), 10, 64)
	pl := s.pipelines[id]
	if err != nil || pl == nil || pl.ProjectID != p.ID {
		writeMessage(w, http.StatusNotFound, "404 Not found")
		return nil
	}
	return pl
}

// handleGetPipeline is GET /projects/:id/pipelines/:pipeline_id.
func (s *Server) handleGetPipeline(w http.ResponseWriter, r *http.Request) {
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
	if pl := s.pipelineFromPathLocked(w, r, p); pl != nil {
		writeJSON(w, http.StatusOK, s.pipelineJSON(pl))
	}
}

// handleListPipelineJobs is GET /projects/:id/pipelines/:pipeline_id/jobs.
func (s *Server) handleListPipelineJobs(w http.ResponseWriter, r *http.Request) {
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
	pl := s.pipelineFromPathLocked(w, r, p)
	if pl == nil {
		s.mu.Unlock()
		return
	}
	out := []jobJSON{}
	for _, j := range s.pipelineJobsLocked(pl.ID) {
		if len(scope) == 0 || scope[j.Status] {
			out = append(out, s.jobJSON(j))
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, paginate(w, r, out))
}

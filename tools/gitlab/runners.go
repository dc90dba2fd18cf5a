package gitlab

import (
	"net/http"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Handlers of the runner endpoints authenticated with a personal access
// token: create, read, update, delete, list, list managers.

// handleCreateRunner is POST /user/runners ("Create a runner linked to a user").
func (s *Server) handleCreateRunner(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r, scopesCreate...) {
		return
	}
	p, err := readParams(w, r)
	if err != nil {
		writeParamError(w, err)
		return
	}
	if !p.has("runner_type") {
		writeError(w, http.StatusBadRequest, "runner_type is missing")
		return
	}
	rt, err := p.str("runner_type")
	if err != nil || (rt != RunnerTypeInstance && rt != RunnerTypeGroup && rt != RunnerTypeProject) {
		writeError(w, http.StatusBadRequest, "runner_type does not have a valid value")
		return
	}
	// Defaults as GitLab applies them.
	nr := &runner{RunnerType: rt, RunUntagged: true, TagList: []string{}, AccessLevel: AccessNotProtected}
	switch rt {
	case RunnerTypeGroup:
		if nr.GroupID, err = ownerID(p, "group_id"); err != nil {
			writeOwnerError(w, err)
			return
		}
	case RunnerTypeProject:
		if nr.ProjectID, err = ownerID(p, "project_id"); err != nil {
			writeOwnerError(w, err)
			return
		}
	}
	if err := applySettings(p, nr); err != nil {
		writeParamError(w, err)
		return
	}
	if errs := validateRunner(nr); errs != nil {
		writeValidation(w, errs)
		return
	}
	token := NewRunnerToken()
	s.mu.Lock()
	defer s.mu.Unlock()
	nr.ID = s.st.NextRunnerID
	s.st.NextRunnerID++
	nr.TokenSHA256 = digest(token)
	nr.CreatedAt = s.now()
	nr.CreatedByUserID = adminUserID
	s.st.Runners = append(s.st.Runners, nr)
	s.byID[nr.ID] = nr
	s.byToken[nr.TokenSHA256] = nr
	if err := s.saveLocked(); err != nil {
		writeStatus(w, http.StatusInternalServerError)
		return
	}
	s.log.Info("runner created", "id", nr.ID, "runner_type", rt)
	writeJSON(w, http.StatusCreated, createdRunnerJSON{ID: nr.ID, Token: token})
}

// errForbiddenOwner marks a group or project id the user cannot reach.
var errForbiddenOwner = &paramError{"forbidden"}

// ownerID reads group_id or project_id, required for its runner type.
func ownerID(p params, name string) (int64, error) {
	if !p.has(name) {
		return 0, &paramError{name + " is missing"}
	}
	id, err := p.integer(name)
	if err != nil {
		return 0, err
	}
	if id == nil {
		return 0, &paramError{name + " is missing"}
	}
	if *id <= 0 {
		return 0, errForbiddenOwner
	}
	return *id, nil
}

func writeOwnerError(w http.ResponseWriter, err error) {
	if err == errForbiddenOwner {
		writeStatus(w, http.StatusForbidden)
		return
	}
	writeParamError(w, err)
}

// applySettings sets the attributes that create and update share, for the
// parameters present in p.
func applySettings(p params, nr *runner) error {
	var err error
	if p.has("description") {
		if nr.Description, err = p.str("description"); err != nil {
			return err
		}
	}
	if p.has("active") { // deprecated inverse of paused
		active, err := p.boolean("active")
		if err != nil {
			return err
		}
		nr.Paused = !active
	}
	for name, dst := range map[string]*bool{"paused": &nr.Paused, "locked": &nr.Locked, "run_untagged": &nr.RunUntagged} {
		if p.has(name) {
			if *dst, err = p.boolean(name); err != nil {
				return err
			}
		}
	}
	if p.has("tag_list") {
		if nr.TagList, err = p.strList("tag_list"); err != nil {
			return err
		}
	}
	if p.has("access_level") {
		al, err := p.str("access_level")
		if err != nil || (al != AccessNotProtected && al != AccessRefProtected) {
			return &paramError{"access_level does not have a valid value"}
		}
		nr.AccessLevel = al
	}
	if p.has("maximum_timeout") {
		if nr.MaximumTimeout, err = p.integer("maximum_timeout"); err != nil {
			return err
		}
	}
	if p.has("maintenance_note") {
		if nr.MaintenanceNote, err = p.str("maintenance_note"); err != nil {
			return err
		}
	}
	return nil
}

// validateRunner applies GitLab's model validations of Ci::Runner; it
// returns nil when the runner is valid.
func validateRunner(r *runner) map[string][]string {
	errs := map[string][]string{}
	if r.MaximumTimeout != nil && *r.MaximumTimeout < minMaximumTimeout {
		errs["maximum_timeout"] = []string{"needs to be at least 10 minutes"}
	}
	if utf8.RuneCountInString(r.MaintenanceNote) > maxMaintenanceNote {
		errs["maintenance_note"] = []string{"is too long (maximum is 1024 characters)"}
	}
	if !r.RunUntagged && len(r.TagList) == 0 {
		errs["tags_list"] = []string{"can not be empty when runner is not allowed to pick untagged jobs"}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// runnerFromPathLocked finds the runner of the {id} path segment, answering 400
// or 404 itself. The caller holds s.mu.
func (s *Server) runnerFromPathLocked(w http.ResponseWriter, r *http.Request) *runner {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, "id is invalid")
		return nil
	}
	rn := s.byID[id]
	if rn == nil {
		writeRunnerNotFound(w)
	}
	return rn
}

// handleGetRunner is GET /runners/:id.
func (s *Server) handleGetRunner(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r, scopesRead...) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rn := s.runnerFromPathLocked(w, r); rn != nil {
		writeJSON(w, http.StatusOK, s.detailsJSON(rn))
	}
}

// handleUpdateRunner is PUT /runners/:id. The change is applied to a copy
// and kept only if it is valid.
func (s *Server) handleUpdateRunner(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r, scopesWrite...) {
		return
	}
	p, err := readParams(w, r)
	if err != nil {
		writeParamError(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rn := s.runnerFromPathLocked(w, r)
	if rn == nil {
		return
	}
	updated := *rn
	if err := applySettings(p, &updated); err != nil {
		writeParamError(w, err)
		return
	}
	if errs := validateRunner(&updated); errs != nil {
		writeValidation(w, errs)
		return
	}
	*rn = updated
	if err := s.saveLocked(); err != nil {
		writeStatus(w, http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, s.detailsJSON(rn))
}

// handleDeleteRunner is DELETE /runners/:id; the managers go with it.
func (s *Server) handleDeleteRunner(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r, scopesWrite...) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rn := s.runnerFromPathLocked(w, r)
	if rn == nil {
		return
	}
	delete(s.byID, rn.ID)
	delete(s.byToken, rn.TokenSHA256)
	s.st.Runners = slices.DeleteFunc(s.st.Runners, func(x *runner) bool { return x == rn })
	if err := s.saveLocked(); err != nil {
		writeStatus(w, http.StatusInternalServerError)
		return
	}
	s.log.Info("runner deleted", "id", rn.ID)
	w.WriteHeader(http.StatusNoContent)
}

// handleListManagers is GET /runners/:id/managers.
func (s *Server) handleListManagers(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r, scopesRead...) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rn := s.runnerFromPathLocked(w, r)
	if rn == nil {
		return
	}
	out := []managerJSON{}
	for _, m := range rn.Managers {
		out = append(out, s.managerJSON(m))
	}
	writeJSON(w, http.StatusOK, out)
}

// handleListAllRunners is GET /runners/all (administrators), with GitLab's
// type, paused and status filters and page/per_page pagination.
func (s *Server) handleListAllRunners(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r, scopesAdmin...) {
		return
	}
	q := r.URL.Query()
	s.mu.Lock()
	all := []runnerBriefJSON{}
	for _, rn := range s.st.Runners {
		b := s.briefJSON(rn)
		if (q.Get("type") != "" && q.Get("type") != b.RunnerType) ||
			(q.Get("status") != "" && q.Get("status") != b.Status) ||
			(q.Get("paused") != "" && q.Get("paused") != strconv.FormatBool(b.Paused)) {
			continue
		}
		all = append(all, b)
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b runnerBriefJSON) int { return int(a.ID - b.ID) })
	writeJSON(w, http.StatusOK, paginate(w, q, all))
}

package gitlab

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Handlers of the runner endpoints authenticated with a personal access
// token: create, read, update, delete, list, list managers.

// handleCreateRunner is POST /user/runners ("Create a runner linked to a
// user"). As GitLab checks it: parameters (400 {"error": ...}), then the
// group or project (400 "Missing/invalid group"), then the user's right to
// create the runner there (403 "Insufficient permissions": Owner of the
// group, Maintainer of the project, administrator for an instance runner),
// then the runner's own validations (400 with their full messages).
func (s *Server) handleCreateRunner(w http.ResponseWriter, r *http.Request) {
	u := s.authorize(w, r, scopesCreate...)
	if u == nil {
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
	var groupID, projectID *int64
	if rt == RunnerTypeGroup || p.has("group_id") {
		if groupID, err = ownerID(p, "group_id", rt == RunnerTypeGroup); err != nil {
			writeParamError(w, err)
			return
		}
	}
	if rt == RunnerTypeProject || p.has("project_id") {
		if projectID, err = ownerID(p, "project_id", rt == RunnerTypeProject); err != nil {
			writeParamError(w, err)
			return
		}
	}
	if err := applySettings(p, nr); err != nil {
		writeParamError(w, err)
		return
	}
	allowed := u.Admin
	switch rt {
	case RunnerTypeInstance:
		if groupID != nil || projectID != nil {
			writeBadRequest(w, "Unexpected scope")
			return
		}
	case RunnerTypeGroup:
		g := s.dir.groups[*groupID]
		if g == nil || projectID != nil {
			writeBadRequest(w, "Missing/invalid group")
			return
		}
		nr.GroupID = g.ID
		allowed = allowed || s.dir.groupAccess(u, g) >= AccessOwner
	case RunnerTypeProject:
		pr := s.dir.projects[*projectID]
		if pr == nil || groupID != nil {
			writeBadRequest(w, "Missing/invalid project")
			return
		}
		nr.ProjectID = pr.ID
		allowed = allowed || s.dir.projectAccess(u, pr) >= AccessMaintainer
	}
	if !allowed {
		writeForbidden(w, "Insufficient permissions")
		return
	}
	if errs := validateRunner(nr); errs != nil {
		writeBadRequest(w, fullMessages(errs))
		return
	}
	token := NewRunnerToken()
	s.mu.Lock()
	defer s.mu.Unlock()
	nr.ID = s.st.NextRunnerID
	s.st.NextRunnerID++
	nr.TokenSHA256 = digest(token)
	nr.CreatedAt = s.now()
	nr.CreatedByUserID = u.ID
	s.st.Runners = append(s.st.Runners, nr)
	s.byID[nr.ID] = nr
	s.byToken[nr.TokenSHA256] = nr
	if err := s.saveLocked(); err != nil {
		writeStatus(w, http.StatusInternalServerError)
		return
	}
	s.log.Info("runner created", "id", nr.ID, "runner_type", rt, "user", u.Username)
	writeJSON(w, http.StatusCreated, createdRunnerJSON{ID: nr.ID, Token: token})
}

// ownerID reads group_id or project_id (an integer; required when the runner
// type needs it).
func ownerID(p params, name string, required bool) (*int64, error) {
	id, err := p.integer(name)
	if err != nil {
		return nil, err
	}
	if id == nil && required {
		return nil, &paramError{name + " is missing"}
	}
	return id, nil
}

// fullMessages renders validation errors as Rails' full_messages.to_sentence:
// "Maximum timeout needs to be at least 10 minutes and Tags list ...".
func fullMessages(errs map[string][]string) string {
	var msgs []string
	for _, attr := range slices.Sorted(maps.Keys(errs)) {
		human := strings.ReplaceAll(attr, "_", " ")
		human = strings.ToUpper(human[:1]) + human[1:]
		for _, m := range errs[attr] {
			msgs = append(msgs, human+" "+m)
		}
	}
	switch len(msgs) {
	case 0:
		return ""
	case 1:
		return msgs[0]
	case 2:
		return msgs[0] + " and " + msgs[1]
	}
	return strings.Join(msgs[:len(msgs)-1], ", ") + ", and " + msgs[len(msgs)-1]
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

// canReadRunner is GitLab's read_runner: anyone for an instance runner, a
// Maintainer of the runner's group or project, an administrator.
func (s *Server) canReadRunner(u *user, rn *runner) bool {
	switch {
	case u.Admin || rn.RunnerType == RunnerTypeInstance:
		return true
	case rn.RunnerType == RunnerTypeGroup:
		g := s.dir.groups[rn.GroupID]
		return g != nil && s.dir.groupAccess(u, g) >= AccessMaintainer
	default:
		pr := s.dir.projects[rn.ProjectID]
		return pr != nil && s.dir.projectAccess(u, pr) >= AccessMaintainer
	}
}

// canManageRunner is GitLab's update_runner / delete_runner: an Owner of the
// runner's group, a Maintainer of its project, an administrator (the only
// one who manages instance runners).
func (s *Server) canManageRunner(u *user, rn *runner) bool {
	switch {
	case u.Admin:
		return true
	case rn.RunnerType == RunnerTypeGroup:
		g := s.dir.groups[rn.GroupID]
		return g != nil && s.dir.groupAccess(u, g) >= AccessOwner
	case rn.RunnerType == RunnerTypeProject:
		pr := s.dir.projects[rn.ProjectID]
		return pr != nil && s.dir.projectAccess(u, pr) >= AccessMaintainer
	}
	return false
}

// handleGetRunner is GET /runners/:id.
func (s *Server) handleGetRunner(w http.ResponseWriter, r *http.Request) {
	u := s.authorize(w, r, scopesRead...)
	if u == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rn := s.runnerFromPathLocked(w, r)
	if rn == nil {
		return
	}
	if !s.canReadRunner(u, rn) {
		writeForbidden(w, "No access granted")
		return
	}
	writeJSON(w, http.StatusOK, s.detailsJSON(rn))
}

// updateAttributes are the attributes PUT /runners/:id takes, of which at
// least one must be given (Grape's at_least_one_of).
var updateAttributes = []string{
	"description", "active", "paused", "tag_list", "run_untagged", "locked", "access_level", "maximum_timeout", "maintenance_note",
}

// handleUpdateRunner is PUT /runners/:id. The change is applied to a copy
// and kept only if it is valid.
func (s *Server) handleUpdateRunner(w http.ResponseWriter, r *http.Request) {
	u := s.authorize(w, r, scopesWrite...)
	if u == nil {
		return
	}
	p, err := readParams(w, r)
	if err != nil {
		writeParamError(w, err)
		return
	}
	if !slices.ContainsFunc(updateAttributes, p.has) {
		writeError(w, http.StatusBadRequest, strings.Join(updateAttributes, ", ")+" are missing, at least one parameter must be provided")
		return
	}
	if p.has("active") && p.has("paused") {
		writeError(w, http.StatusBadRequest, "active, paused are mutually exclusive")
		return
	}
	probe := runner{}
	if err := applySettings(p, &probe); err != nil {
		writeParamError(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rn := s.runnerFromPathLocked(w, r)
	if rn == nil {
		return
	}
	if !s.canManageRunner(u, rn) {
		writeForbidden(w, "No access granted")
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
	// Ci::Runners::UpdateRunnerService ticks the runner's queue: a held
	// job request ends, and the next one sees the new settings.
	s.tickRunnerLocked(rn)
	if err := s.saveLocked(); err != nil {
		writeStatus(w, http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, s.detailsJSON(rn))
}

// handleDeleteRunner is DELETE /runners/:id; the managers go with it.
func (s *Server) handleDeleteRunner(w http.ResponseWriter, r *http.Request) {
	u := s.authorize(w, r, scopesWrite...)
	if u == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rn := s.runnerFromPathLocked(w, r)
	if rn == nil {
		return
	}
	if !s.canManageRunner(u, rn) {
		writeForbidden(w, "No access granted")
		return
	}
	if err := s.deleteRunnerLocked(rn); err != nil {
		writeStatus(w, http.StatusInternalServerError)
		return
	}
	s.log.Info("runner deleted", "id", rn.ID, "user", u.Username)
	w.WriteHeader(http.StatusNoContent)
}

// deleteRunnerLocked removes rn and saves; the caller holds s.mu. Its
// token's digest is remembered so that a later request with it is
// recorded as coming from the deleted runner. As in GitLab, its queue value
// is dropped without waking its long polls: they end at their timeout, and
// the runner's next request gets 403.
func (s *Server) deleteRunnerLocked(rn *runner) error {
	delete(s.byID, rn.ID)
	delete(s.byToken, rn.TokenSHA256)
	delete(s.queueValues, rn.ID)
	s.st.Runners = slices.DeleteFunc(s.st.Runners, func(x *runner) bool { return x == rn })
	s.st.DeletedRunners = append(s.st.DeletedRunners, &deletedRunner{ID: rn.ID, TokenSHA256: rn.TokenSHA256, DeletedAt: s.now()})
	s.deletedTokens[rn.TokenSHA256] = rn.ID
	return s.saveLocked()
}

// handleListManagers is GET /runners/:id/managers.
func (s *Server) handleListManagers(w http.ResponseWriter, r *http.Request) {
	u := s.authorize(w, r, scopesRead...)
	if u == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rn := s.runnerFromPathLocked(w, r)
	if rn == nil {
		return
	}
	if !s.canReadRunner(u, rn) {
		writeForbidden(w, "No access granted")
		return
	}
	out := []managerJSON{}
	for _, m := range rn.Managers {
		out = append(out, s.managerJSONLocked(m))
	}
	writeJSON(w, http.StatusOK, out)
}

// runnerStatuses are the values of the status filter; active and paused are
// GitLab's deprecated ones and filter on the paused flag.
var runnerStatuses = []string{"active", "paused", "online", "offline", "never_contacted", "stale"}

// runnerFilter is the parsed type, status, paused and tag_list filter of a
// runner list.
type runnerFilter struct {
	runnerType, status string
	paused             *bool
	tags               []string
}

// parseRunnerFilter reads the list filters, answering 400 as Grape does for
// a value out of range.
func parseRunnerFilter(w http.ResponseWriter, r *http.Request) (*runnerFilter, bool) {
	q := r.URL.Query()
	p := params{}
	addValues(p, q)
	f := &runnerFilter{runnerType: q.Get("type"), status: q.Get("status")}
	if f.runnerType != "" && !slices.Contains([]string{RunnerTypeInstance, RunnerTypeGroup, RunnerTypeProject}, f.runnerType) {
		writeError(w, http.StatusBadRequest, "type does not have a valid value")
		return nil, false
	}
	if f.status != "" && !slices.Contains(runnerStatuses, f.status) {
		writeError(w, http.StatusBadRequest, "status does not have a valid value")
		return nil, false
	}
	if p.has("paused") {
		b, err := p.boolean("paused")
		if err != nil {
			writeParamError(w, err)
			return nil, false
		}
		f.paused = &b
	}
	if p.has("tag_list") {
		tags, err := p.strList("tag_list")
		if err != nil {
			writeParamError(w, err)
			return nil, false
		}
		f.tags = tags
	}
	return f, true
}

// match reports whether rn passes the filter; tag_list keeps runners that
// have every tag given.
func (f *runnerFilter) match(rn *runner, now time.Time) bool {
	if f.runnerType != "" && rn.RunnerType != f.runnerType {
		return false
	}
	switch f.status {
	case "":
	case "active":
		if rn.Paused {
			return false
		}
	case "paused":
		if !rn.Paused {
			return false
		}
	default:
		if rn.status(now) != f.status {
			return false
		}
	}
	if f.paused != nil && rn.Paused != *f.paused {
		return false
	}
	for _, t := range f.tags {
		if !slices.Contains(rn.TagList, t) {
			return false
		}
	}
	return true
}

// listRunners answers a runner list: the runners keep passes and the filter
// matches, by id, one page of them.
func (s *Server) listRunners(w http.ResponseWriter, r *http.Request, f *runnerFilter, keep func(*runner) bool) {
	s.mu.Lock()
	all := []runnerBriefJSON{}
	now := s.now()
	for _, rn := range s.st.Runners {
		if keep(rn) && f.match(rn, now) {
			all = append(all, s.briefJSON(rn))
		}
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b runnerBriefJSON) int { return int(a.ID - b.ID) })
	writeJSON(w, http.StatusOK, paginate(w, r, all))
}

// handleListAllRunners is GET /runners/all (administrators), with GitLab's
// type, status, paused and tag_list filters and page/per_page pagination.
func (s *Server) handleListAllRunners(w http.ResponseWriter, r *http.Request) {
	u := s.authorize(w, r, scopesGet...)
	if u == nil {
		return
	}
	f, ok := parseRunnerFilter(w, r)
	if !ok {
		return
	}
	if !u.Admin {
		writeStatus(w, http.StatusForbidden)
		return
	}
	s.listRunners(w, r, f, func(*runner) bool { return true })
}

package gitlab

import (
	"net/http"
	"slices"
)

// handleAssignProjectRunner is POST /projects/:id/runners ("Assign a runner
// to a project"): a project runner then serves that project too. As GitLab
// checks it: the user must be a Maintainer of the project; a group runner
// is refused ("Runner is a group runner"); an administrator may assign any
// other; anyone else not a locked runner ("Runner is locked") and only one
// they may manage ("No access granted").
func (s *Server) handleAssignProjectRunner(w http.ResponseWriter, r *http.Request) {
	u := s.authorize(w, r, scopesWrite...)
	if u == nil {
		return
	}
	prm, err := readParams(w, r)
	if err != nil {
		writeParamError(w, err)
		return
	}
	if !prm.has("runner_id") {
		writeError(w, http.StatusBadRequest, "runner_id is missing")
		return
	}
	rid, err := prm.integer("runner_id")
	if err != nil || rid == nil {
		writeError(w, http.StatusBadRequest, "runner_id is invalid")
		return
	}
	p := s.projectForUser(w, r, u, AccessMaintainer)
	if p == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rn := s.byID[*rid]
	if rn == nil {
		writeRunnerNotFound(w)
		return
	}
	switch {
	case rn.RunnerType == RunnerTypeGroup:
		writeForbidden(w, "Runner is a group runner")
		return
	case u.Admin:
	case rn.Locked:
		writeForbidden(w, "Runner is locked")
		return
	case !s.canManageRunner(u, rn):
		writeForbidden(w, "No access granted")
		return
	}
	switch {
	case rn.RunnerType == RunnerTypeInstance:
		// GitLab's Ci::Runner#assign_to refuses to turn an instance
		// runner into a project runner.
		writeBadRequest(w, "Transitioning an instance runner to a project runner is not supported")
		return
	case slices.Contains(rn.projectIDs(), p.ID):
		writeBadRequest(w, "Runner projects runner has already been taken")
		return
	}
	rn.AssignedProjectIDs = append(rn.AssignedProjectIDs, p.ID)
	// The runner may now take the project's queued jobs: end its long poll.
	s.tickRunnerLocked(rn)
	if err := s.saveLocked(); err != nil {
		writeStatus(w, http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusCreated, s.briefJSON(rn))
}

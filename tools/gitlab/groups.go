package gitlab

import (
	"net/http"
	"slices"
	"strconv"
)

// Groups and projects: read them, and list the runners they can use.
// Groups and projects are private: a user who is not a member (and not an
// administrator) gets 404, as GitLab answers for what one may not see.

// groupFromPath resolves {id}; it answers 404 itself when the group does not
// exist or u may not see it.
func (s *Server) groupFromPath(w http.ResponseWriter, r *http.Request, u *user) *group {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	g := s.dir.groups[id]
	if err != nil || g == nil || !s.dir.canSeeGroup(u, g) {
		writeNotFound(w, "Group")
		return nil
	}
	return g
}

func (s *Server) projectFromPath(w http.ResponseWriter, r *http.Request, u *user) *project {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	p := s.dir.projects[id]
	if err != nil || p == nil || !s.dir.canSeeProject(u, p) {
		writeNotFound(w, "Project")
		return nil
	}
	return p
}

// handleGetGroup is GET /groups/:id.
func (s *Server) handleGetGroup(w http.ResponseWriter, r *http.Request) {
	u := s.authorize(w, r, scopesGet...)
	if u == nil {
		return
	}
	if g := s.groupFromPath(w, r, u); g != nil {
		writeJSON(w, http.StatusOK, s.groupJSON(g))
	}
}

// handleGetProject is GET /projects/:id.
func (s *Server) handleGetProject(w http.ResponseWriter, r *http.Request) {
	u := s.authorize(w, r, scopesGet...)
	if u == nil {
		return
	}
	if p := s.projectFromPath(w, r, u); p != nil {
		writeJSON(w, http.StatusOK, s.projectJSON(p))
	}
}

// handleListGroupRunners is GET /groups/:id/runners: the group's runners,
// its ancestors' and the instance runners (GitLab's default membership
// all_available), filtered by type, status, paused and tag_list. Maintainers
// of the group and administrators only (403 otherwise).
func (s *Server) handleListGroupRunners(w http.ResponseWriter, r *http.Request) {
	u := s.authorize(w, r, scopesGet...)
	if u == nil {
		return
	}
	g := s.groupFromPath(w, r, u)
	if g == nil {
		return
	}
	f, ok := parseRunnerFilter(w, r)
	if !ok {
		return
	}
	if !u.Admin && s.dir.groupAccess(u, g) < AccessMaintainer {
		writeStatus(w, http.StatusForbidden)
		return
	}
	inGroup := map[int64]bool{}
	for _, a := range s.dir.ancestors(g) {
		inGroup[a.ID] = true
	}
	s.listRunners(w, r, f, func(rn *runner) bool {
		return rn.RunnerType == RunnerTypeInstance || (rn.RunnerType == RunnerTypeGroup && inGroup[rn.GroupID])
	})
}

// handleListProjectRunners is GET /projects/:id/runners: the project's
// runners, those of its group and the group's ancestors, and the instance
// runners. Maintainers of the project and administrators only.
func (s *Server) handleListProjectRunners(w http.ResponseWriter, r *http.Request) {
	u := s.authorize(w, r, scopesGet...)
	if u == nil {
		return
	}
	p := s.projectFromPath(w, r, u)
	if p == nil {
		return
	}
	f, ok := parseRunnerFilter(w, r)
	if !ok {
		return
	}
	if !u.Admin && s.dir.projectAccess(u, p) < AccessMaintainer {
		writeStatus(w, http.StatusForbidden)
		return
	}
	inGroup := map[int64]bool{}
	for _, a := range s.dir.ancestors(s.dir.groups[p.GroupID]) {
		inGroup[a.ID] = true
	}
	s.listRunners(w, r, f, func(rn *runner) bool {
		switch rn.RunnerType {
		case RunnerTypeProject:
			return slices.Contains(rn.projectIDs(), p.ID)
		case RunnerTypeGroup:
			return inGroup[rn.GroupID]
		}
		return true
	})
}

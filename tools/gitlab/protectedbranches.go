package gitlab

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Protected branches: which refs are protected decides which jobs a
// ref_protected runner may take (and who may run a pipeline there). The
// seed protects each project's default branch, as GitLab does when it
// creates a project; tests change that through GitLab's Protected branches
// API:
//
//	GET    /projects/:id/protected_branches        any member
//	GET    /projects/:id/protected_branches/:name  any member
//	POST   /projects/:id/protected_branches        Maintainer; name, push_access_level, merge_access_level
//	DELETE /projects/:id/protected_branches/:name  Maintainer

// projectState is what the stand-in keeps about a project beyond the seed.
type projectState struct {
	ID                int64              `json:"id"`
	LastPipelineIID   int64              `json:"last_pipeline_iid"`
	ProtectedBranches []*protectedBranch `json:"protected_branches"`
}

// protectedBranch is a protected branch name or wildcard.
type protectedBranch struct {
	ID               int64     `json:"id"`
	Name             string    `json:"name"`
	PushAccessLevel  int       `json:"push_access_level"`
	MergeAccessLevel int       `json:"merge_access_level"`
	AllowForcePush   bool      `json:"allow_force_push"`
	CreatedAt        time.Time `json:"created_at"`
}

// AccessNoOne and AccessAdmin are the protected branch access levels
// besides the member roles.
const (
	AccessNoOne = 0
	AccessAdmin = 60
)

// matches is GitLab's RefMatcher: an exact name, or a wildcard where *
// stands for any characters (slashes included).
func (b *protectedBranch) matches(ref string) bool {
	if !strings.Contains(b.Name, "*") {
		return b.Name == ref
	}
	parts := strings.Split(b.Name, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*?") + "$").MatchString(ref)
}

// projectStateLocked returns the project's state, creating it from the
// seed on first use. The caller holds s.mu.
func (s *Server) projectStateLocked(p *project) *projectState {
	if ps := s.projects[p.ID]; ps != nil {
		return ps
	}
	ps := &projectState{ID: p.ID, ProtectedBranches: []*protectedBranch{}}
	for _, name := range p.ProtectedBranches {
		ps.ProtectedBranches = append(ps.ProtectedBranches, &protectedBranch{
			ID: s.st.NextProtectedBranchID, Name: name, PushAccessLevel: AccessMaintainer,
			MergeAccessLevel: AccessMaintainer, CreatedAt: s.started,
		})
		s.st.NextProtectedBranchID++
	}
	s.projects[p.ID] = ps
	s.st.Projects = append(s.st.Projects, ps)
	return ps
}

// protectionOf is the protected branch rule that covers ref, or nil.
func (ps *projectState) protectionOf(ref string) *protectedBranch {
	for _, b := range ps.ProtectedBranches {
		if b.matches(ref) {
			return b
		}
	}
	return nil
}

// accessDescription is how GitLab names a protected branch access level.
func accessDescription(level int) string {
	switch level {
	case AccessNoOne:
		return "No one"
	case AccessDeveloper:
		return "Developers + Maintainers"
	case AccessMaintainer:
		return "Maintainers"
	case AccessAdmin:
		return "Admins"
	}
	return ""
}

// protectedBranchJSON is GitLab's ProtectedBranch entity.
type protectedBranchJSON struct {
	ID                        int64             `json:"id"`
	Name                      string            `json:"name"`
	PushAccessLevels          []accessLevelJSON `json:"push_access_levels"`
	MergeAccessLevels         []accessLevelJSON `json:"merge_access_levels"`
	UnprotectAccessLevels     []accessLevelJSON `json:"unprotect_access_levels"`
	AllowForcePush            bool              `json:"allow_force_push"`
	CodeOwnerApprovalRequired bool              `json:"code_owner_approval_required"`
}

type accessLevelJSON struct {
	ID                     int64  `json:"id"`
	AccessLevel            int    `json:"access_level"`
	AccessLevelDescription string `json:"access_level_description"`
	DeployKeyID            *int64 `json:"deploy_key_id"`
	UserID                 *int64 `json:"user_id"`
	GroupID                *int64 `json:"group_id"`
}

func protectedBranchToJSON(b *protectedBranch) protectedBranchJSON {
	return protectedBranchJSON{
		ID: b.ID, Name: b.Name, AllowForcePush: b.AllowForcePush,
		PushAccessLevels: []accessLevelJSON{{ID: b.ID, AccessLevel: b.PushAccessLevel,
			AccessLevelDescription: accessDescription(b.PushAccessLevel)}},
		MergeAccessLevels: []accessLevelJSON{{ID: b.ID, AccessLevel: b.MergeAccessLevel,
			AccessLevelDescription: accessDescription(b.MergeAccessLevel)}},
		UnprotectAccessLevels: []accessLevelJSON{},
	}
}

// projectForUser resolves {id} for u and checks u's role there (minimum
// level, administrators always pass); it answers 404 or 403 itself.
func (s *Server) projectForUser(w http.ResponseWriter, r *http.Request, u *user, minLevel int) *project {
	p := s.projectFromPath(w, r, u)
	if p == nil {
		return nil
	}
	if !u.Admin && s.dir.projectAccess(u, p) < minLevel {
		writeStatus(w, http.StatusForbidden)
		return nil
	}
	return p
}

// handleListProtectedBranches is GET /projects/:id/protected_branches.
func (s *Server) handleListProtectedBranches(w http.ResponseWriter, r *http.Request) {
	u := s.authorize(w, r, scopesGet...)
	if u == nil {
		return
	}
	p := s.projectForUser(w, r, u, AccessGuest)
	if p == nil {
		return
	}
	s.mu.Lock()
	out := []protectedBranchJSON{}
	for _, b := range s.projectStateLocked(p).ProtectedBranches {
		out = append(out, protectedBranchToJSON(b))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, paginate(w, r, out))
}

// handleGetProtectedBranch is GET /projects/:id/protected_branches/:name.
func (s *Server) handleGetProtectedBranch(w http.ResponseWriter, r *http.Request) {
	u := s.authorize(w, r, scopesGet...)
	if u == nil {
		return
	}
	p := s.projectForUser(w, r, u, AccessGuest)
	if p == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.projectStateLocked(p)
	i := slices.IndexFunc(ps.ProtectedBranches, func(b *protectedBranch) bool { return b.Name == r.PathValue("name") })
	if i < 0 {
		writeMessage(w, http.StatusNotFound, "404 Not found")
		return
	}
	writeJSON(w, http.StatusOK, protectedBranchToJSON(ps.ProtectedBranches[i]))
}

// handleProtectBranch is POST /projects/:id/protected_branches.
func (s *Server) handleProtectBranch(w http.ResponseWriter, r *http.Request) {
	u := s.authorize(w, r, scopesAdmin...)
	if u == nil {
		return
	}
	prm, err := readParams(w, r)
	if err != nil {
		writeParamError(w, err)
		return
	}
	name, _ := prm.str("name")
	if !prm.has("name") || strings.TrimSpace(name) == "" {
		writeError(w, http.StatusBadRequest, "name is missing")
		return
	}
	levels := map[string]int{"push_access_level": AccessMaintainer, "merge_access_level": AccessMaintainer}
	for key := range levels {
		if !prm.has(key) {
			continue
		}
		v, err := prm.integer(key)
		if err != nil || v == nil || !slices.Contains([]int64{AccessNoOne, AccessDeveloper, AccessMaintainer, AccessAdmin}, *v) {
			writeError(w, http.StatusBadRequest, key+" does not have a valid value")
			return
		}
		levels[key] = int(*v)
	}
	force := false
	if prm.has("allow_force_push") {
		if force, err = prm.boolean("allow_force_push"); err != nil {
			writeParamError(w, err)
			return
		}
	}
	p := s.projectForUser(w, r, u, AccessMaintainer)
	if p == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.projectStateLocked(p)
	if slices.ContainsFunc(ps.ProtectedBranches, func(b *protectedBranch) bool { return b.Name == name }) {
		writeMessage(w, http.StatusConflict, "Protected branch '"+name+"' already exists")
		return
	}
	b := &protectedBranch{ID: s.st.NextProtectedBranchID, Name: name, PushAccessLevel: levels["push_access_level"],
		MergeAccessLevel: levels["merge_access_level"], AllowForcePush: force, CreatedAt: s.now()}
	s.st.NextProtectedBranchID++
	ps.ProtectedBranches = append(ps.ProtectedBranches, b)
	if err := s.saveLocked(); err != nil {
		writeStatus(w, http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusCreated, protectedBranchToJSON(b))
}

// handleUnprotectBranch is DELETE /projects/:id/protected_branches/:name.
func (s *Server) handleUnprotectBranch(w http.ResponseWriter, r *http.Request) {
	u := s.authorize(w, r, scopesAdmin...)
	if u == nil {
		return
	}
	p := s.projectForUser(w, r, u, AccessMaintainer)
	if p == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ps := s.projectStateLocked(p)
	before := len(ps.ProtectedBranches)
	ps.ProtectedBranches = slices.DeleteFunc(ps.ProtectedBranches, func(b *protectedBranch) bool { return b.Name == r.PathValue("name") })
	if len(ps.ProtectedBranches) == before {
		writeMessage(w, http.StatusNotFound, "404 Not found")
		return
	}
	if err := s.saveLocked(); err != nil {
		writeStatus(w, http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

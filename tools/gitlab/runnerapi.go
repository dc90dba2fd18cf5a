package gitlab

import (
	"net"
	"net/http"
	"slices"
)

// Handlers of the endpoints a gitlab-runner process calls with its runner
// authentication token (glrt-...) rather than a personal access token.

// maxSystemID is GitLab's length limit of a runner manager's system_id.
const maxSystemID = 64

// runnerByTokenLocked finds the runner whose token is in p; it answers 400
// (no token) or 403 (unknown token, recorded) itself. The caller holds s.mu.
func (s *Server) runnerByTokenLocked(w http.ResponseWriter, r *http.Request, p params) (*runner, string) {
	tok, err := p.str("token")
	if err != nil || tok == "" {
		writeError(w, http.StatusBadRequest, "token is missing")
		return nil, ""
	}
	rn := s.byToken[digest(tok)]
	if rn == nil {
		s.forbidRunnerTokenLocked(w, r, tok)
		return nil, ""
	}
	return rn, tok
}

// systemID reads the optional system_id.
func systemID(p params) (string, error) {
	id, err := p.str("system_id")
	if err != nil || len(id) > maxSystemID {
		return "", invalid("system_id")
	}
	return id, nil
}

// touchManagerLocked records a contact of manager systemID of rn, creating
// it on first contact; it reports whether something worth saving changed
// (a new manager or new version info, not just the contact time).
func (s *Server) touchManagerLocked(rn *runner, systemID string, r *http.Request, info map[string]any) bool {
	now := s.now()
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	var m *manager
	for _, x := range rn.Managers {
		if x.SystemID == systemID {
			m = x
		}
	}
	changed := false
	if m == nil {
		m = &manager{ID: s.st.NextManager, SystemID: systemID, CreatedAt: now}
		s.st.NextManager++
		rn.Managers = append(rn.Managers, m)
		changed = true
	}
	m.ContactedAt = now
	m.IPAddress = ip
	for key, dst := range map[string]*string{
		"version": &m.Version, "revision": &m.Revision, "platform": &m.Platform, "architecture": &m.Architecture,
	} {
		if v, ok := info[key].(string); ok && v != *dst {
			*dst = v
			changed = true
		}
	}
	return changed
}

// handleVerify is POST /runners/verify: what `gitlab-runner register
// --token glrt-...` and `gitlab-runner verify` call. As in GitLab, it counts
// as a contact (the runner is then online, or paused) and, with a
// system_id, creates the runner manager.
func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) {
	p, err := readParams(w, r)
	if err != nil {
		writeParamError(w, err)
		return
	}
	sid, err := systemID(p)
	if err != nil {
		writeParamError(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rn, tok := s.runnerByTokenLocked(w, r, p)
	if rn == nil {
		return
	}
	first := rn.ContactedAt == nil
	rn.contact(s.now())
	newManager := sid != "" && s.touchManagerLocked(rn, sid, r, nil)
	if first || newManager {
		if err := s.saveLocked(); err != nil {
			writeStatus(w, http.StatusInternalServerError)
			return
		}
	}
	if newManager {
		s.log.Info("runner manager registered", "runner", rn.ID, "system_id", sid)
	}
	writeJSON(w, http.StatusOK, createdRunnerJSON{ID: rn.ID, Token: tok})
}

// handleUnregisterManager is DELETE /runners/managers: `gitlab-runner
// unregister` with a glrt- token removes only its own manager.
func (s *Server) handleUnregisterManager(w http.ResponseWriter, r *http.Request) {
	p, err := readParams(w, r)
	if err != nil {
		writeParamError(w, err)
		return
	}
	sid, err := systemID(p)
	if err != nil {
		writeParamError(w, err)
		return
	}
	if sid == "" {
		writeError(w, http.StatusBadRequest, "system_id is missing")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rn, _ := s.runnerByTokenLocked(w, r, p)
	if rn == nil {
		return
	}
	before := len(rn.Managers)
	rn.Managers = slices.DeleteFunc(rn.Managers, func(m *manager) bool { return m.SystemID == sid })
	if len(rn.Managers) == before {
		writeMessage(w, http.StatusNotFound, "404 Runner Manager Not Found")
		return
	}
	if err := s.saveLocked(); err != nil {
		writeStatus(w, http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleDeleteRunnerByToken is DELETE /runners: a runner deletes itself with
// its authentication token (what `gitlab-runner unregister` does for a
// runner registered with a registration token). 204, or 403 for an unknown
// token, 400 without one.
func (s *Server) handleDeleteRunnerByToken(w http.ResponseWriter, r *http.Request) {
	p, err := readParams(w, r)
	if err != nil {
		writeParamError(w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rn, _ := s.runnerByTokenLocked(w, r, p)
	if rn == nil {
		return
	}
	if err := s.deleteRunnerLocked(rn); err != nil {
		writeStatus(w, http.StatusInternalServerError)
		return
	}
	s.log.Info("runner deleted with its token", "id", rn.ID)
	w.WriteHeader(http.StatusNoContent)
}

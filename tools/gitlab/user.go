package gitlab

import "net/http"

// handleCurrentUser is GET /user; the pulumi-gitlab provider calls it at
// configuration time (earlyAuthCheck) to fail fast on a bad token.
func (s *Server) handleCurrentUser(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r, scopesUser...) {
		return
	}
	writeJSON(w, http.StatusOK, s.userJSON())
}

// handleVersion is GET /version.
func (s *Server) handleVersion(w http.ResponseWriter, r *http.Request) {
	if !s.authorize(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, versionJSON{Version: Version, Revision: Revision})
}

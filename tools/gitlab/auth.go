package gitlab

import (
	"net/http"
	"strings"
)

// requestToken is the personal access token of r: PRIVATE-TOKEN header,
// "Authorization: Bearer", or the private_token / access_token query
// parameter, as GitLab accepts them.
func requestToken(r *http.Request) string {
	if t := r.Header.Get("PRIVATE-TOKEN"); t != "" {
		return t
	}
	if a := r.Header.Get("Authorization"); a != "" {
		if t, ok := strings.CutPrefix(a, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
	}
	q := r.URL.Query()
	if t := q.Get("private_token"); t != "" {
		return t
	}
	return q.Get("access_token")
}

// authorize checks the personal access token of r against the scopes (any
// one suffices; none means any valid token). It answers 401 or 403 itself
// and returns false when the request must stop.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, scopes ...string) bool {
	tok := requestToken(r)
	pat := s.pats[digest(tok)]
	if tok == "" || pat == nil {
		writeStatus(w, http.StatusUnauthorized)
		return false
	}
	if len(scopes) > 0 && !pat.has(scopes...) {
		writeStatus(w, http.StatusForbidden)
		return false
	}
	return true
}

// Scope sets per kind of request; see the package documentation.
var (
	scopesCreate = []string{ScopeCreateRunner, ScopeAPI}
	scopesRead   = []string{ScopeManageRunner, ScopeAPI, ScopeReadAPI}
	scopesWrite  = []string{ScopeManageRunner, ScopeAPI}
	scopesAdmin  = []string{ScopeAPI, ScopeReadAPI}
	scopesUser   = []string{ScopeAPI, ScopeReadAPI, ScopeReadUser}
	scopesFaults = []string{ScopeAPI}
)

package gitlab

import (
	"net/http"
	"strings"
	"time"
)

// accessToken is a personal access token the server accepts: configured
// (seed, --token-file, --token) or minted through the API.
type accessToken struct {
	ID        int64
	Name      string
	User      *user
	Scopes    []string
	CreatedAt time.Time
	// ExpiresAt is the last day the token works; nil never expires.
	ExpiresAt *time.Time
}

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

// insufficientScopeDescription is the error_description of GitLab's (Rack
// OAuth2's) insufficient_scope answer.
const insufficientScopeDescription = "The request requires higher privileges than provided by the access token."

// authorize finds the user of r's personal access token and checks that the
// token carries one of scopes (none: any valid token). It answers itself and
// returns nil when the request must stop:
//
//	no or unknown token   401 {"message":"401 Unauthorized"}
//	expired token         401 {"error":"invalid_token","error_description":"Token has expired."}
//	missing scope         403 {"error":"insufficient_scope","error_description":"...","scope":"api read_api"}
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, scopes ...string) *user {
	tok := requestToken(r)
	s.mu.Lock()
	pat := s.pats[digest(tok)]
	s.mu.Unlock()
	if tok == "" || pat == nil {
		writeStatus(w, http.StatusUnauthorized)
		return nil
	}
	if pat.ExpiresAt != nil && s.now().After(pat.ExpiresAt.Add(24*time.Hour)) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "Token has expired."})
		return nil
	}
	if len(scopes) > 0 && !hasAny(pat.Scopes, scopes...) {
		writeJSON(w, http.StatusForbidden, map[string]string{
			"error": "insufficient_scope", "error_description": insufficientScopeDescription,
			"scope": strings.Join(scopes, " "),
		})
		return nil
	}
	return pat.User
}

// Scope sets per kind of request: GitLab allows api on every route, read_api
// on GET routes, create_runner on POST /user/runners and manage_runner on
// the runner routes.
var (
	scopesCreate = []string{ScopeAPI, ScopeCreateRunner}
	scopesRead   = []string{ScopeAPI, ScopeReadAPI, ScopeManageRunner}
	scopesWrite  = []string{ScopeAPI, ScopeManageRunner}
	scopesGet    = []string{ScopeAPI, ScopeReadAPI}
	scopesUser   = []string{ScopeAPI, ScopeReadAPI, ScopeReadUser}
	scopesAdmin  = []string{ScopeAPI}
	scopesFaults = []string{ScopeAPI}
)

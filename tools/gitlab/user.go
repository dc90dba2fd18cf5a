package gitlab

import (
	"net/http"
	"slices"
	"strconv"
	"time"
)

// handleCurrentUser is GET /user; the pulumi-gitlab provider calls it at
// configuration time (earlyAuthCheck) to fail fast on a bad token.
func (s *Server) handleCurrentUser(w http.ResponseWriter, r *http.Request) {
	u := s.authorize(w, r, scopesUser...)
	if u == nil {
		return
	}
	writeJSON(w, http.StatusOK, s.userJSON(u, true))
}

// handleVersion is GET /version.
func (s *Server) handleVersion(w http.ResponseWriter, r *http.Request) {
	if s.authorize(w, r) == nil {
		return
	}
	writeJSON(w, http.StatusOK, versionJSON{Version: Version, Revision: Revision})
}

// maxTokenLifetime is GitLab's default limit on a personal access token's
// lifetime (365 days), also its expiry when none is given.
const maxTokenLifetime = 365 * 24 * time.Hour

// handleCreatePersonalAccessToken is POST /users/:user_id/personal_access_tokens
// (administrators, api scope): it mints a token for a user, which is how
// tests get a token of a user without rights, a group owner or a project
// maintainer, with exactly the scopes they want.
func (s *Server) handleCreatePersonalAccessToken(w http.ResponseWriter, r *http.Request) {
	admin := s.authorize(w, r, scopesAdmin...)
	if admin == nil {
		return
	}
	p, err := readParams(w, r)
	if err != nil {
		writeParamError(w, err)
		return
	}
	name, _ := p.str("name")
	if !p.has("name") || name == "" {
		writeError(w, http.StatusBadRequest, "name is missing")
		return
	}
	if !p.has("scopes") {
		writeError(w, http.StatusBadRequest, "scopes is missing")
		return
	}
	scopes, err := p.strList("scopes")
	if err != nil {
		writeParamError(w, err)
		return
	}
	if len(scopes) == 0 {
		writeError(w, http.StatusBadRequest, "scopes is empty")
		return
	}
	for _, sc := range scopes {
		if !slices.Contains(validScopes, sc) {
			writeError(w, http.StatusBadRequest, "scopes does not have a valid value")
			return
		}
	}
	now := s.now()
	expires := now.Add(maxTokenLifetime).Truncate(24 * time.Hour)
	if p.has("expires_at") {
		raw, _ := p.str("expires_at")
		t, err := time.Parse(time.DateOnly, raw)
		if err != nil {
			writeError(w, http.StatusBadRequest, "expires_at is invalid")
			return
		}
		if t.After(now.Add(maxTokenLifetime)) {
			writeMessage(w, http.StatusBadRequest, map[string][]string{
				"expires_at": {"must be before " + now.Add(maxTokenLifetime).Format(time.DateOnly)}})
			return
		}
		expires = t
	}
	if !admin.Admin {
		writeStatus(w, http.StatusForbidden)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	owner := s.dir.users[id]
	if err != nil || owner == nil {
		writeNotFound(w, "User")
		return
	}
	token := NewPersonalToken()
	s.mu.Lock()
	defer s.mu.Unlock()
	mt := &mintedToken{ID: s.st.NextTokenID, UserID: owner.ID, Name: name, Scopes: scopes,
		TokenSHA256: digest(token), CreatedAt: now, ExpiresAt: &expires}
	s.st.NextTokenID++
	s.st.Tokens = append(s.st.Tokens, mt)
	s.pats[mt.TokenSHA256] = &accessToken{ID: mt.ID, Name: name, User: owner, Scopes: scopes, CreatedAt: now, ExpiresAt: &expires}
	if err := s.saveLocked(); err != nil {
		writeStatus(w, http.StatusInternalServerError)
		return
	}
	s.log.Info("personal access token created", "user", owner.Username, "scopes", scopes)
	writeJSON(w, http.StatusCreated, personalAccessTokenJSON{
		ID: mt.ID, Name: name, Revoked: false, CreatedAt: apiTime(now), Scopes: scopes, UserID: owner.ID,
		Active: true, ExpiresAt: expires.Format(time.DateOnly), Token: token,
	})
}

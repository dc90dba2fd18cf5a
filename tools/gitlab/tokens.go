package gitlab

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// Token prefixes GitLab uses, so that secret scanners and humans recognise them.
const (
	RunnerTokenPrefix   = "glrt-"
	PersonalTokenPrefix = "glpat-"
)

// Scopes of personal access tokens that the stand-in checks.
const (
	ScopeAPI          = "api"
	ScopeReadAPI      = "read_api"
	ScopeReadUser     = "read_user"
	ScopeCreateRunner = "create_runner"
	ScopeManageRunner = "manage_runner"
)

// AdminScopes are the scopes of the generated administrator token.
var AdminScopes = []string{ScopeAPI, ScopeCreateRunner, ScopeManageRunner}

// PersonalAccessToken is a token the stand-in accepts in PRIVATE-TOKEN.
type PersonalAccessToken struct {
	Name   string   `json:"name"`
	Token  string   `json:"token"`
	Scopes []string `json:"scopes"`
}

// has reports whether the token carries any of the scopes.
func (t *PersonalAccessToken) has(scopes ...string) bool {
	for _, s := range scopes {
		if slices.Contains(t.Scopes, s) {
			return true
		}
	}
	return false
}

// ParseTokenFlag parses NAME=TOKEN:scope1,scope2 (the --token flag).
func ParseTokenFlag(v string) (PersonalAccessToken, error) {
	name, rest, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return PersonalAccessToken{}, fmt.Errorf("token %q: want NAME=TOKEN:scope1,scope2", name)
	}
	// A token never contains ':', so the last ':' separates the scopes.
	i := strings.LastIndex(rest, ":")
	if i <= 0 || i == len(rest)-1 {
		return PersonalAccessToken{}, fmt.Errorf("token %q: want NAME=TOKEN:scope1,scope2", name)
	}
	t := PersonalAccessToken{Name: name, Token: rest[:i]}
	for s := range strings.SplitSeq(rest[i+1:], ",") {
		if s = strings.TrimSpace(s); s != "" {
			t.Scopes = append(t.Scopes, s)
		}
	}
	return t, nil
}

// NewRunnerToken makes a runner authentication token: glrt- and 27 random
// URL-safe characters (20 bytes from crypto/rand).
func NewRunnerToken() string { return RunnerTokenPrefix + randomString(20) }

// NewPersonalToken makes a personal access token: glpat- and 27 random
// URL-safe characters.
func NewPersonalToken() string { return PersonalTokenPrefix + randomString(20) }

func randomString(n int) string {
	b := make([]byte, n)
	// crypto/rand.Read never fails on supported platforms (Go 1.24+).
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// digest is how runner tokens are stored: only their SHA-256.
func digest(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

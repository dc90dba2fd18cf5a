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
	// JobTokenPrefix starts CI job tokens (CI_JOB_TOKEN). GitLab 18 puts a
	// JWT after it; the runner treats the token as opaque (it only strips
	// the prefix to shorten it, helpers/shorten_token.go).
	JobTokenPrefix = "glcbt-"
)

// Scopes of personal access tokens that the stand-in checks.
const (
	ScopeAPI          = "api"
	ScopeReadAPI      = "read_api"
	ScopeReadUser     = "read_user"
	ScopeCreateRunner = "create_runner"
	ScopeManageRunner = "manage_runner"
)

// validScopes are the personal access token scopes GitLab knows (the ones
// POST /users/:id/personal_access_tokens accepts).
var validScopes = []string{
	"api", "read_api", "read_user", "create_runner", "manage_runner", "k8s_proxy", "self_rotate",
	"read_repository", "write_repository", "read_registry", "write_registry",
	"read_virtual_registry", "write_virtual_registry", "sudo", "admin_mode", "read_service_ping", "ai_features",
}

// AdminScopes are the scopes of the generated administrator token.
var AdminScopes = []string{ScopeAPI, ScopeCreateRunner, ScopeManageRunner}

// PersonalAccessToken is a token the stand-in accepts: in a PRIVATE-TOKEN
// header, as a Bearer token, or as private_token / access_token.
type PersonalAccessToken struct {
	Name   string   `json:"name"`
	Token  string   `json:"token"`
	Scopes []string `json:"scopes"`
	// User is the owner's username; empty means the administrator, root.
	User string `json:"user,omitempty"`
}

// hasAny reports whether scopes holds any of want.
func hasAny(scopes []string, want ...string) bool {
	for _, s := range want {
		if slices.Contains(scopes, s) {
			return true
		}
	}
	return false
}

// ParseTokenFlag parses NAME=TOKEN:scope1,scope2[@USERNAME] (the --token
// flag); without @USERNAME the token is root's.
func ParseTokenFlag(v string) (PersonalAccessToken, error) {
	usage := fmt.Errorf("token %q: want NAME=TOKEN:scope1,scope2[@username]", v)
	name, rest, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return PersonalAccessToken{}, usage
	}
	t := PersonalAccessToken{Name: name}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		rest, t.User = rest[:i], rest[i+1:]
		if t.User == "" {
			return PersonalAccessToken{}, usage
		}
	}
	// A token never contains ':', so the last ':' separates the scopes.
	i := strings.LastIndex(rest, ":")
	if i <= 0 || i == len(rest)-1 {
		return PersonalAccessToken{}, usage
	}
	t.Token = rest[:i]
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

// NewJobToken makes a job token: glcbt- and 27 random URL-safe characters.
func NewJobToken() string { return JobTokenPrefix + randomString(20) }

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

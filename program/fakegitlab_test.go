package program_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeGitlab answers the calls the program makes to GitLab as GitLab does
// (the bodies and status codes of GitLab's REST API, as the GitLab
// stand-in in tools/gitlab gives them): groups and projects 1-999 exist,
// users are members with a role, and tokens carry scopes. The end-to-end
// suite runs the same checks against the stand-in itself.
type fakeGitlab struct {
	*httptest.Server
	mu sync.Mutex
	// users by token.
	users map[string]fakeUser
	// down answers every request with 500.
	down bool
	// runners by id: what GET /runners/:id and POST /runners/verify see.
	runners map[int]fakeRunner
	// anyRunner answers for a runner id not in runners (the mocks give
	// runners ids of their own).
	anyRunner *fakeRunner
	// requests are the paths asked for, in order.
	requests []string
	// verified are the bodies of POST /runners/verify.
	verified []map[string]string
}

type fakeUser struct {
	ID       int
	Username string
	Admin    bool
	Scopes   []string
	// Groups and Projects are the user's roles by id (30 Developer, 40
	// Maintainer, 50 Owner).
	Groups, Projects map[int]int
}

type fakeRunner struct {
	Type       string
	Token      string
	GroupID    int
	ProjectID  int
	ExpiresAt  *time.Time
	Paused     bool
	Contacted  *time.Time
	Managers   []map[string]any
	RunningJob bool
}

const (
	ownerToken     = "glpat-owner-token"
	adminToken     = "glpat-admin-token"
	developerToken = "glpat-developer-token"
)

func newFakeGitlab(t *testing.T) *fakeGitlab {
	f := &fakeGitlab{users: map[string]fakeUser{
		adminToken:     {ID: 1, Username: "root", Admin: true, Scopes: []string{"api"}},
		ownerToken:     {ID: 2, Username: "group-owner", Scopes: []string{"create_runner", "manage_runner", "read_user"}, Groups: ownerOf(1, 999), Projects: ownerOf(1, 999)},
		developerToken: {ID: 4, Username: "developer", Scopes: []string{"create_runner", "manage_runner", "read_user"}, Groups: map[int]int{1: 30}},
	}, runners: map[int]fakeRunner{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func ownerOf(from, to int) map[int]int {
	out := map[int]int{}
	for id := from; id <= to; id++ {
		out[id] = 50
	}
	return out
}

func (f *fakeGitlab) api() string { return f.URL + "/api/v4/" }

// asked reports the requests made so far.
func (f *fakeGitlab) asked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

func (f *fakeGitlab) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	answer := func(status int, body any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	}
	if f.down {
		answer(500, map[string]string{"message": "500 Internal Server Error"})
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/api/v4/")
	parts := strings.Split(path, "/")
	if r.Method == http.MethodPost && path == "runners/verify" {
		var body map[string]string
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.verified = append(f.verified, body)
		for id, rn := range f.runners {
			if rn.Token == body["token"] {
				answer(200, map[string]any{"id": id, "token": rn.Token, "token_expires_at": rn.ExpiresAt})
				return
			}
		}
		answer(403, map[string]string{"message": "403 Forbidden"})
		return
	}
	u, ok := f.users[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if !ok {
		answer(401, map[string]string{"message": "401 Unauthorized"})
		return
	}
	scoped := func(scopes ...string) bool {
		for _, s := range scopes {
			if slices.Contains(u.Scopes, s) {
				return true
			}
		}
		answer(403, map[string]string{"error": "insufficient_scope",
			"error_description": "The request requires higher privileges than provided by the access token.", "scope": strings.Join(scopes, " ")})
		return false
	}
	id := func(i int) int {
		n, _ := strconv.Atoi(parts[i])
		return n
	}
	switch {
	case path == "user":
		if scoped("api", "read_api", "read_user") {
			user := map[string]any{"id": u.ID, "username": u.Username}
			if u.Admin {
				user["is_admin"] = true
			}
			answer(200, user)
		}
	case len(parts) == 3 && (parts[0] == "groups" || parts[0] == "projects") && parts[2] == "runners":
		if !scoped("api", "read_api", "manage_runner") {
			return
		}
		roles, what := u.Groups, "Group"
		if parts[0] == "projects" {
			roles, what = u.Projects, "Project"
		}
		n := id(1)
		switch {
		case n < 1 || n > 999 || (!u.Admin && roles[n] == 0):
			answer(404, map[string]string{"message": "404 " + what + " Not Found"})
		case !u.Admin && roles[n] < 40:
			answer(403, map[string]string{"message": "403 Forbidden"})
		default:
			answer(200, []any{})
		}
	case len(parts) == 5 && parts[0] == "groups" && parts[2] == "members" && parts[3] == "all":
		if !scoped("api", "read_api") {
			return
		}
		if level := f.userByID(id(4)).Groups[id(1)]; level > 0 {
			answer(200, map[string]any{"id": id(4), "access_level": level})
			return
		}
		answer(404, map[string]string{"message": "404 Member Not Found"})
	case len(parts) >= 2 && parts[0] == "runners":
		if !scoped("api", "read_api", "manage_runner") {
			return
		}
		rn, ok := f.runners[id(1)]
		if !ok && f.anyRunner != nil {
			rn, ok = *f.anyRunner, true
		}
		if !ok {
			answer(404, map[string]string{"message": "404 Runner Not Found"})
			return
		}
		switch {
		case len(parts) == 2:
			details := map[string]any{"id": id(1), "runner_type": rn.Type, "paused": rn.Paused, "contacted_at": rn.Contacted,
				"status": "never_contacted", "groups": []any{}, "projects": []any{}}
			if rn.Contacted != nil {
				details["status"], details["online"] = "online", true
			}
			if rn.Paused {
				details["status"] = "paused"
			}
			if rn.GroupID != 0 {
				details["groups"] = []any{map[string]any{"id": rn.GroupID, "name": fmt.Sprint("group ", rn.GroupID),
					"web_url": fmt.Sprintf("%s/groups/group-%d", f.URL, rn.GroupID)}}
			}
			if rn.ProjectID != 0 {
				details["projects"] = []any{map[string]any{"id": rn.ProjectID, "path_with_namespace": fmt.Sprintf("group-1/project-%d", rn.ProjectID)}}
			}
			answer(200, details)
		case parts[2] == "managers":
			answer(200, rn.Managers)
		case parts[2] == "jobs":
			jobs := []any{}
			if rn.RunningJob && r.URL.Query().Get("status") == "running" {
				jobs = append(jobs, map[string]any{"id": 7, "status": "running"})
			}
			answer(200, jobs)
		}
	default:
		answer(404, map[string]string{"message": "404 Not Found"})
	}
}

func (f *fakeGitlab) userByID(id int) fakeUser {
	for _, u := range f.users {
		if u.ID == id {
			return u
		}
	}
	return fakeUser{}
}

func (f *fakeGitlab) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

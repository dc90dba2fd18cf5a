package localengine

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const userRunnerType = "gitlab:index/userRunner:UserRunner"

// fakeGitLab answers the runner lists and details Recover reads, from a
// fixed set of runners, and records every request.
type fakeGitLab struct {
	mu       sync.Mutex
	runners  []fakeRunner
	requests []string // "METHOD path?query"
	auth     []string // the Authorization header of each request
	private  []string // the PRIVATE-TOKEN header of each request
	deleted  []int64
}

type fakeRunner struct {
	ID          int64
	Description string
	Type        string
	Group       int64 // the owning group (group_type)
	Project     int64 // the owning project (project_type)
	Ancestor    bool  // listed by the group as an ancestor's runner
}

func (f *fakeGitLab) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.private = append(f.private, r.Header.Get("PRIVATE-TOKEN"))
	path := strings.TrimPrefix(r.URL.Path, "/api/v4/")
	parts := strings.Split(path, "/")
	list := func(keep func(fakeRunner) bool) {
		out := []map[string]any{}
		for _, rn := range f.runners {
			if rn.Type == r.URL.Query().Get("type") && keep(rn) {
				out = append(out, map[string]any{"id": rn.ID, "description": rn.Description, "runner_type": rn.Type})
			}
		}
		_ = json.NewEncoder(w).Encode(out)
	}
	switch {
	case r.Method == "GET" && len(parts) == 3 && parts[0] == "groups" && parts[2] == "runners":
		id, _ := strconv.ParseInt(parts[1], 10, 64)
		list(func(rn fakeRunner) bool { return rn.Group == id || rn.Ancestor })
	case r.Method == "GET" && len(parts) == 3 && parts[0] == "projects" && parts[2] == "runners":
		id, _ := strconv.ParseInt(parts[1], 10, 64)
		list(func(rn fakeRunner) bool { return rn.Project == id })
	case r.Method == "GET" && path == "runners/all":
		list(func(fakeRunner) bool { return true })
	case len(parts) == 2 && parts[0] == "runners":
		id, _ := strconv.ParseInt(parts[1], 10, 64)
		for _, rn := range f.runners {
			if rn.ID != id {
				continue
			}
			if r.Method == "DELETE" {
				f.deleted = append(f.deleted, id)
				w.WriteHeader(http.StatusNoContent)
				return
			}
			d := map[string]any{"id": rn.ID, "description": rn.Description, "runner_type": rn.Type,
				"groups": []any{}, "projects": []any{}}
			if rn.Group != 0 {
				d["groups"] = []any{map[string]any{"id": rn.Group}}
			}
			if rn.Project != 0 {
				d["projects"] = []any{map[string]any{"id": rn.Project}}
			}
			_ = json.NewEncoder(w).Encode(d)
			return
		}
		http.Error(w, `{"message":"404 Runner Not Found"}`, http.StatusNotFound)
	default:
		http.Error(w, `{"error":"404 Not Found"}`, http.StatusNotFound)
	}
}

func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

func pendingRunner(inputs map[string]any, recorded ...string) PendingCreate {
	return PendingCreate{URN: "urn:pulumi:s::p::gitlab:index/userRunner:UserRunner::f", Type: userRunnerType,
		Inputs: inputs, Recorded: recorded}
}

// A group runner is looked up among its group's runners, never the whole
// instance's; a runner the state holds (the one being replaced, with the
// same description) and an ancestor group's runner are left alone.
func TestCleanerLooksWithinTheGroup(t *testing.T) {
	f := &fakeGitLab{runners: []fakeRunner{
		{ID: 5, Description: "f (s)", Type: "group_type", Group: 37},                // in the state: being replaced
		{ID: 6, Description: "f (s)", Type: "group_type", Group: 1, Ancestor: true}, // an ancestor group's
		{ID: 7, Description: "f (s)", Type: "group_type", Group: 37},                // the lost one
		{ID: 8, Description: "other (s)", Type: "group_type", Group: 37},            // another fleet's
		{ID: 9, Description: "f (s)", Type: "group_type", Group: 38},                // another group's
		{ID: 10, Description: "f (s)", Type: "instance_type"},                       // not a group runner
		{ID: 11, Description: "f (s)", Type: "project_type", Project: 37, Group: 0}, // not a group runner
	}}
	ts := serve(t, f)
	clean := ProjectCleaner(ts.URL+"/api/v4/", "glpat-secret")
	done, err := clean(context.Background(), pendingRunner(map[string]any{
		"runnerType": "group_type", "groupId": float64(37), "description": "f (s)"}, "5"))
	require.NoError(t, err)
	assert.Equal(t, "deleted runner 7 in GitLab (its token was lost with the engine)", done)
	assert.Equal(t, []int64{7}, f.deleted)
	for _, req := range f.requests {
		assert.NotContains(t, req, "runners/all", "no instance-wide listing for a group runner")
	}
	assert.Contains(t, f.requests[0], "GET /api/v4/groups/37/runners?")
	assert.Contains(t, f.requests[0], "type=group_type")
	for i := range f.requests {
		assert.Equal(t, "Bearer glpat-secret", f.auth[i])
		assert.Empty(t, f.private[i], "the token travels only in Authorization")
	}
}

func TestCleanerLooksWithinTheProjectAndTheInstance(t *testing.T) {
	f := &fakeGitLab{runners: []fakeRunner{
		{ID: 3, Description: "p (s)", Type: "project_type", Project: 52},
		{ID: 4, Description: "p (s)", Type: "project_type", Project: 53},
		{ID: 5, Description: "i (s)", Type: "instance_type"},
	}}
	ts := serve(t, f)
	// Without the trailing slash, as client-go accepts gitlab:baseUrl.
	clean := ProjectCleaner(ts.URL+"/api/v4", "t")
	done, err := clean(context.Background(), pendingRunner(map[string]any{
		"runnerType": "project_type", "projectId": float64(52), "description": "p (s)"}))
	require.NoError(t, err)
	assert.Contains(t, done, "deleted runner 3")
	assert.Contains(t, f.requests[0], "GET /api/v4/projects/52/runners?")

	done, err = clean(context.Background(), pendingRunner(map[string]any{"runnerType": "instance_type", "description": "i (s)"}))
	require.NoError(t, err)
	assert.Contains(t, done, "deleted runner 5")
	assert.Equal(t, []int64{3, 5}, f.deleted)

	done, err = clean(context.Background(), pendingRunner(map[string]any{
		"runnerType": "project_type", "projectId": float64(54), "description": "p (s)"}))
	require.NoError(t, err)
	assert.Equal(t, "never created in GitLab", done)

	_, err = clean(context.Background(), pendingRunner(map[string]any{"runnerType": "group_type", "description": "g"}))
	assert.ErrorContains(t, err, "no groupId to look it up in")
}

// Two unknown runners with the fleet's description: nothing is deleted.
func TestCleanerRefusesToGuess(t *testing.T) {
	f := &fakeGitLab{runners: []fakeRunner{
		{ID: 7, Description: "f (s)", Type: "group_type", Group: 37},
		{ID: 8, Description: "f (s)", Type: "group_type", Group: 37},
	}}
	ts := serve(t, f)
	_, err := ProjectCleaner(ts.URL+"/api/v4/", "t")(context.Background(), pendingRunner(map[string]any{
		"runnerType": "group_type", "groupId": float64(37), "description": "f (s)"}))
	assert.ErrorContains(t, err, "2 runners with this description")
	assert.Empty(t, f.deleted)
}

// An API that redirects gets no token anywhere else: the redirect is not
// followed, and the error says what to fix.
func TestCleanerSendsTheTokenNowhereElse(t *testing.T) {
	elsewhere := &fakeGitLab{}
	other := serve(t, elsewhere)
	redirector := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusFound)
	}))
	// The same host name with another port: Go's client would keep even the
	// Authorization header on such a redirect.
	_, err := ProjectCleaner(redirector.URL+"/api/v4/", "glpat-secret")(context.Background(), pendingRunner(map[string]any{
		"runnerType": "instance_type", "description": "f (s)"}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "redirected")
	assert.Contains(t, err.Error(), "gitlab:baseUrl")
	assert.NotContains(t, err.Error(), "glpat-secret")
	assert.Empty(t, elsewhere.requests, "the redirect target got no request, so no token")
}

func TestCleanerOtherResources(t *testing.T) {
	clean := ProjectCleaner("http://127.0.0.1:1/api/v4/", "t")
	done, err := clean(context.Background(), PendingCreate{Type: "kubernetes:core/v1:Secret"})
	require.NoError(t, err)
	assert.Equal(t, "the next up applies it again", done)
	_, err = clean(context.Background(), PendingCreate{Type: "random:index/randomId:RandomId"})
	assert.ErrorContains(t, err, fmt.Sprintf("no way to clean up a %s", "random:index/randomId:RandomId"))
}

package gitlab

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var runnerTokenRE = regexp.MustCompile(`^glrt-[A-Za-z0-9_-]{20,}$`)

func TestCreateRunner(t *testing.T) {
	tests := []struct {
		name       string
		token      string
		body       any
		wantStatus int
		wantBody   string // JSON the answer must equal, when not a creation
	}{
		{"instance json", adminTok, map[string]any{"runner_type": "instance_type"}, 201, ""},
		{"group json", creatorTok, map[string]any{"runner_type": "group_type", "group_id": 42, "tag_list": []string{"a", "b"}}, 201, ""},
		{"project form", creatorTok, url.Values{"runner_type": {"project_type"}, "project_id": {"7"}, "tag_list": {"x,y"}, "run_untagged": {"false"}}, 201, ""},
		{"all attributes", adminTok, map[string]any{
			"runner_type": "instance_type", "description": "d", "paused": true, "locked": true, "run_untagged": false,
			"tag_list": "k8s, linux", "access_level": "ref_protected", "maximum_timeout": 3600, "maintenance_note": "n",
		}, 201, ""},
		{"no token", "", map[string]any{"runner_type": "instance_type"}, 401, `{"message":"401 Unauthorized"}`},
		{"bad token", "glpat-nope", map[string]any{"runner_type": "instance_type"}, 401, `{"message":"401 Unauthorized"}`},
		{"manage scope cannot create", managerTok, map[string]any{"runner_type": "instance_type"}, 403, insufficientScope("api create_runner")},
		{"missing runner_type", adminTok, map[string]any{}, 400, `{"error":"runner_type is missing"}`},
		{"bad runner_type", adminTok, map[string]any{"runner_type": "shared"}, 400, `{"error":"runner_type does not have a valid value"}`},
		{"group without group_id", adminTok, map[string]any{"runner_type": "group_type"}, 400, `{"error":"group_id is missing"}`},
		{"project without project_id", adminTok, map[string]any{"runner_type": "project_type"}, 400, `{"error":"project_id is missing"}`},
		{"group_id not a number", adminTok, map[string]any{"runner_type": "group_type", "group_id": "abc"}, 400, `{"error":"group_id is invalid"}`},
		{"group_id zero", adminTok, map[string]any{"runner_type": "group_type", "group_id": 0}, 400, `{"message":"400 Bad request - Missing/invalid group"}`},
		{"group that does not exist", adminTok, map[string]any{"runner_type": "group_type", "group_id": 5000}, 400, `{"message":"400 Bad request - Missing/invalid group"}`},
		{"project that does not exist", adminTok, map[string]any{"runner_type": "project_type", "project_id": 5000}, 400, `{"message":"400 Bad request - Missing/invalid project"}`},
		{"bad access_level", adminTok, map[string]any{"runner_type": "instance_type", "access_level": "protected"}, 400, `{"error":"access_level does not have a valid value"}`},
		{"bad paused", adminTok, map[string]any{"runner_type": "instance_type", "paused": "maybe"}, 400, `{"error":"paused is invalid"}`},
		{"timeout too small", adminTok, map[string]any{"runner_type": "instance_type", "maximum_timeout": 599}, 400, `{"message":"400 Bad request - Maximum timeout needs to be at least 10 minutes"}`},
		{"untagged off without tags", adminTok, map[string]any{"runner_type": "instance_type", "run_untagged": false}, 400, `{"message":"400 Bad request - Tags list can not be empty when runner is not allowed to pick untagged jobs"}`},
		{"two validation errors", adminTok, map[string]any{"runner_type": "instance_type", "run_untagged": false, "maximum_timeout": 60}, 400, `{"message":"400 Bad request - Maximum timeout needs to be at least 10 minutes and Tags list can not be empty when runner is not allowed to pick untagged jobs"}`},
		{"bad json", adminTok, `{"runner_type":`, 400, `{"error":"request body is not a valid JSON object"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStandin(t, "")
			res := s.do("POST", "/api/v4/user/runners", tc.token, tc.body)
			require.Equal(t, tc.wantStatus, res.Status, string(res.Raw))
			if tc.wantStatus != http.StatusCreated {
				assert.JSONEq(t, tc.wantBody, string(res.Raw))
				assert.Equal(t, 0, s.srv.RunnerCount())
				return
			}
			o := res.Obj()
			assert.Equal(t, float64(1), o["id"])
			assert.Regexp(t, runnerTokenRE, o["token"])
			assert.Contains(t, o, "token_expires_at")
			assert.Nil(t, o["token_expires_at"])
			assert.Equal(t, 1, s.srv.RunnerCount())
		})
	}
}

func TestRunnerTokensAreRandom(t *testing.T) {
	s := newStandin(t, "")
	_, a := s.create(map[string]any{"runner_type": "instance_type"})
	_, b := s.create(map[string]any{"runner_type": "instance_type"})
	assert.NotEqual(t, a, b)
}

func TestGetRunnerDetails(t *testing.T) {
	s := newStandin(t, "")
	gid, _ := s.create(map[string]any{
		"runner_type": "group_type", "group_id": 42, "description": "fleet", "tag_list": []string{"k8s", "linux", "k8s"},
		"maximum_timeout": 3600, "access_level": "ref_protected", "maintenance_note": "note",
	})
	iid, _ := s.create(map[string]any{"runner_type": "instance_type"})
	pid, _ := s.create(map[string]any{"runner_type": "project_type", "project_id": 9})

	res := s.do("GET", fmt.Sprintf("/api/v4/runners/%d", gid), adminTok, nil)
	require.Equal(t, 200, res.Status)
	o := res.Obj()
	for key, want := range map[string]any{
		"id": float64(gid), "description": "fleet", "active": true, "paused": false, "is_shared": false,
		"runner_type": "group_type", "name": nil, "online": nil, "status": "never_contacted",
		"tag_list": []any{"k8s", "linux"}, "run_untagged": true, "locked": false, "maximum_timeout": float64(3600),
		"access_level": "ref_protected", "maintenance_note": "note", "contacted_at": nil, "projects": []any{},
	} {
		assert.Equal(t, want, o[key], key)
	}
	groups := o["groups"].([]any)
	require.Len(t, groups, 1)
	assert.Equal(t, float64(42), groups[0].(map[string]any)["id"])
	assert.Equal(t, "root", o["created_by"].(map[string]any)["username"])

	o = s.do("GET", fmt.Sprintf("/api/v4/runners/%d", iid), managerTok, nil).Obj()
	assert.Equal(t, true, o["is_shared"])
	assert.Nil(t, o["maximum_timeout"])
	assert.Nil(t, o["maintenance_note"])
	assert.Equal(t, "not_protected", o["access_level"])
	assert.Equal(t, []any{}, o["groups"])

	o = s.do("GET", fmt.Sprintf("/api/v4/runners/%d", pid), readAPITok, nil).Obj()
	projects := o["projects"].([]any)
	require.Len(t, projects, 1)
	assert.Equal(t, float64(9), projects[0].(map[string]any)["id"])
}

func TestRunnerEndpointsStatuses(t *testing.T) {
	s := newStandin(t, "")
	id, _ := s.create(map[string]any{"runner_type": "instance_type"})
	path := fmt.Sprintf("/api/v4/runners/%d", id)
	tests := []struct {
		name, method, path, token string
		body                      any
		want                      int
		wantBody                  string
	}{
		{"get no token", "GET", path, "", nil, 401, `{"message":"401 Unauthorized"}`},
		{"get create-only token", "GET", path, creatorTok, nil, 403, insufficientScope("api read_api manage_runner")},
		{"get unknown", "GET", "/api/v4/runners/999", adminTok, nil, 404, `{"message":"404 Runner Not Found"}`},
		{"get bad id", "GET", "/api/v4/runners/abc", adminTok, nil, 400, `{"error":"id is invalid"}`},
		{"update no token", "PUT", path, "", map[string]any{"paused": true}, 401, `{"message":"401 Unauthorized"}`},
		{"update read_api token", "PUT", path, readAPITok, map[string]any{"paused": true}, 403, insufficientScope("api manage_runner")},
		{"update unknown", "PUT", "/api/v4/runners/999", managerTok, map[string]any{"paused": true}, 404, `{"message":"404 Runner Not Found"}`},
		{"update bad timeout", "PUT", path, managerTok, map[string]any{"maximum_timeout": 60}, 400, `{"message":{"maximum_timeout":["needs to be at least 10 minutes"]}}`},
		{"update bad access", "PUT", path, managerTok, map[string]any{"access_level": "x"}, 400, `{"error":"access_level does not have a valid value"}`},
		{"delete create-only token", "DELETE", path, creatorTok, nil, 403, insufficientScope("api manage_runner")},
		{"delete unknown", "DELETE", "/api/v4/runners/999", managerTok, nil, 404, `{"message":"404 Runner Not Found"}`},
		{"managers no token", "GET", path + "/managers", "", nil, 401, `{"message":"401 Unauthorized"}`},
		{"managers unknown", "GET", "/api/v4/runners/999/managers", adminTok, nil, 404, `{"message":"404 Runner Not Found"}`},
		{"all with manage token", "GET", "/api/v4/runners/all", managerTok, nil, 403, insufficientScope("api read_api")},
		{"unknown route", "GET", "/api/v4/projects", adminTok, nil, 404, `{"error":"404 Not Found"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := s.do(tc.method, tc.path, tc.token, tc.body)
			assert.Equal(t, tc.want, res.Status)
			assert.JSONEq(t, tc.wantBody, string(res.Raw))
		})
	}
	// Failed updates changed nothing.
	o := s.do("GET", path, adminTok, nil).Obj()
	assert.Equal(t, false, o["paused"])
	assert.Nil(t, o["maximum_timeout"])
}

func TestUpdateRunner(t *testing.T) {
	s := newStandin(t, "")
	id, _ := s.create(map[string]any{"runner_type": "instance_type", "maximum_timeout": 3600})
	path := fmt.Sprintf("/api/v4/runners/%d", id)

	res := s.do("PUT", path, managerTok, map[string]any{
		"description": "new", "paused": true, "tag_list": []string{"gpu"}, "run_untagged": false,
		"locked": true, "access_level": "ref_protected", "maximum_timeout": 7200, "maintenance_note": "m",
	})
	require.Equal(t, 200, res.Status, string(res.Raw))
	o := res.Obj()
	assert.Equal(t, "new", o["description"])
	assert.Equal(t, true, o["paused"])
	assert.Equal(t, false, o["active"])
	assert.Equal(t, []any{"gpu"}, o["tag_list"])
	assert.Equal(t, float64(7200), o["maximum_timeout"])
	assert.Equal(t, "m", o["maintenance_note"])

	// Form-encoded, partial, and clearing maximum_timeout with an empty value.
	res = s.do("PUT", path, adminTok, url.Values{"paused": {"false"}, "maximum_timeout": {""}})
	require.Equal(t, 200, res.Status, string(res.Raw))
	o = s.do("GET", path, adminTok, nil).Obj()
	assert.Equal(t, false, o["paused"])
	assert.Nil(t, o["maximum_timeout"])
	assert.Equal(t, "new", o["description"])

	// Clearing the tags while untagged jobs are refused is invalid.
	res = s.do("PUT", path, adminTok, map[string]any{"tag_list": []string{}})
	assert.Equal(t, 400, res.Status)
	assert.Contains(t, res.Obj()["message"], "tags_list")
}

func TestDeleteRunner(t *testing.T) {
	s := newStandin(t, "")
	id, tok := s.create(map[string]any{"runner_type": "instance_type"})
	path := fmt.Sprintf("/api/v4/runners/%d", id)
	require.Equal(t, 200, s.do("POST", "/api/v4/runners/verify", "", map[string]any{"token": tok, "system_id": "s_000000000001"}).Status)

	res := s.do("DELETE", path, managerTok, nil)
	assert.Equal(t, 204, res.Status)
	assert.Empty(t, res.Raw)
	assert.Equal(t, 404, s.do("GET", path, adminTok, nil).Status)
	assert.Equal(t, 404, s.do("DELETE", path, adminTok, nil).Status)
	// The token died with the runner.
	assert.Equal(t, 403, s.do("POST", "/api/v4/runners/verify", "", map[string]any{"token": tok}).Status)
	assert.Equal(t, 0, s.srv.RunnerCount())
}

func TestListAllRunners(t *testing.T) {
	s := newStandin(t, "")
	for range 3 {
		s.create(map[string]any{"runner_type": "instance_type"})
	}
	s.create(map[string]any{"runner_type": "group_type", "group_id": 1, "paused": true})

	res := s.do("GET", "/api/v4/runners/all", adminTok, nil)
	require.Equal(t, 200, res.Status)
	list := res.JSON().([]any)
	require.Len(t, list, 4)
	first := list[0].(map[string]any)
	for _, key := range []string{"id", "description", "ip_address", "active", "paused", "is_shared", "runner_type", "name", "online", "status"} {
		assert.Contains(t, first, key)
	}
	assert.Equal(t, "4", res.Header.Get("X-Total"))

	assert.Len(t, s.do("GET", "/api/v4/runners/all?type=group_type", readAPITok, nil).JSON(), 1)
	assert.Len(t, s.do("GET", "/api/v4/runners/all?paused=false", adminTok, nil).JSON(), 3)
	assert.Len(t, s.do("GET", "/api/v4/runners/all?status=online", adminTok, nil).JSON(), 0)

	res = s.do("GET", "/api/v4/runners/all?per_page=3&page=2", adminTok, nil)
	assert.Len(t, res.JSON(), 1)
	assert.Equal(t, "2", res.Header.Get("X-Total-Pages"))
	assert.Equal(t, "", res.Header.Get("X-Next-Page"))
	assert.Equal(t, "2", s.do("GET", "/api/v4/runners/all?per_page=3", adminTok, nil).Header.Get("X-Next-Page"))
}

// insufficientScope is GitLab's answer to a token without the scope a route
// needs, scope naming the scopes that would do.
func insufficientScope(scope string) string {
	return `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"` + scope + `"}`
}

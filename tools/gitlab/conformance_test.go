package gitlab_test

// Conformance of the stand-in with GitLab's REST API, driven with GitLab's
// official Go client (gitlab.com/gitlab-org/api/client-go) rather than the
// stand-in's own types: endpoint by endpoint and role by role, each answer
// is held to the status code, fields and body GitLab documents (Runners API,
// Users API "Create a runner linked to a user", personal access tokens,
// groups and projects) and that GitLab's source gives (Grape's parameter
// errors, forbidden!/bad_request!/not_found! bodies, Rack OAuth2's
// insufficient_scope answer).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/glrf/gitlab-runner-fleet/tools/gitlab"
)

const rootToken = "glpat-conformance-root-000000000000"

// instance is a stand-in with the default seed and a client per role.
type instance struct {
	t   *testing.T
	ts  *httptest.Server
	srv *gitlab.Server
	// admin is root (instance administrator), owner owns every group,
	// maintainer maintains every project and belongs to no group, developer
	// is a Developer in group 1: each with a token of the api scope.
	admin, owner, maintainer, developer *gl.Client
}

func newInstance(t *testing.T) *instance {
	t.Helper()
	srv, err := gitlab.New(gitlab.Config{Tokens: []gitlab.PersonalAccessToken{
		{Name: "root", Token: rootToken, Scopes: gitlab.AdminScopes},
	}})
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	in := &instance{t: t, ts: ts, srv: srv}
	in.admin = in.client(rootToken)
	in.owner = in.clientOf(2, "api")
	in.maintainer = in.clientOf(3, "api")
	in.developer = in.clientOf(4, "api")
	return in
}

// client is a client-go client with token and no retries (a retried 5xx
// would hide what the stand-in answered).
func (in *instance) client(token string) *gl.Client {
	in.t.Helper()
	c, err := gl.NewClient(token, gl.WithBaseURL(in.ts.URL+"/api/v4"), gl.WithoutRetries())
	require.NoError(in.t, err)
	tokens[c] = token
	return c
}

// tokenOf mints a personal access token for a user as the administrator.
func (in *instance) tokenOf(userID int64, scopes ...string) string {
	in.t.Helper()
	pat, resp, err := in.admin.Users.CreatePersonalAccessToken(userID, &gl.CreatePersonalAccessTokenOptions{
		Name: gl.Ptr("conformance"), Scopes: &scopes,
	})
	require.NoError(in.t, err)
	require.Equal(in.t, http.StatusCreated, resp.StatusCode)
	require.True(in.t, strings.HasPrefix(pat.Token, "glpat-"), pat.Token)
	return pat.Token
}

func (in *instance) clientOf(userID int64, scopes ...string) *gl.Client {
	return in.client(in.tokenOf(userID, scopes...))
}

// apiError asserts that err is GitLab's answer with status and exactly the
// JSON body want.
func apiError(t *testing.T, err error, status int, want string) {
	t.Helper()
	var er *gl.ErrorResponse
	require.True(t, errors.As(err, &er), "want GitLab's %d %s, got %v", status, want, err)
	assert.Equal(t, status, er.Response.StatusCode)
	assert.JSONEq(t, want, string(er.Body))
}

// raw sends a request through client-go's request builder and returns the
// status and body undecoded: for bodies client-go does not keep (404) and
// fields its types cannot tell apart (null from false).
func raw(t *testing.T, c *gl.Client, method, path string, opt any) (int, http.Header, []byte) {
	t.Helper()
	req, err := c.NewRequest(method, path, opt, nil)
	require.NoError(t, err)
	var body strings.Builder
	resp, err := c.Do(req, &body)
	if resp == nil {
		require.NoError(t, err)
	}
	if err != nil {
		var er *gl.ErrorResponse
		if errors.As(err, &er) {
			return resp.StatusCode, resp.Header, er.Body
		}
		// client-go drops the body of a 404: ask again without it.
		payload, berr := req.BodyBytes()
		require.NoError(t, berr)
		hreq := req.Request.Clone(req.Context())
		hreq.Body = io.NopCloser(bytes.NewReader(payload))
		hreq.Header.Set("PRIVATE-TOKEN", tokenOfClient(t, c))
		hres, herr := http.DefaultClient.Do(hreq)
		require.NoError(t, herr)
		defer hres.Body.Close()
		data, _ := io.ReadAll(hres.Body)
		return hres.StatusCode, hres.Header, data
	}
	return resp.StatusCode, resp.Header, []byte(body.String())
}

// tokens remembers the token of each client made by newInstance/client.
var tokens = map[*gl.Client]string{}

func tokenOfClient(t *testing.T, c *gl.Client) string {
	t.Helper()
	tok, ok := tokens[c]
	require.True(t, ok, "client without a recorded token")
	return tok
}

func obj(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m), string(data))
	return m
}

func createRunner(t *testing.T, c *gl.Client, opts *gl.CreateUserRunnerOptions) *gl.UserRunner {
	t.Helper()
	r, resp, err := c.Users.CreateUserRunner(opts)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	return r
}

func group(id int64) *gl.CreateUserRunnerOptions {
	return &gl.CreateUserRunnerOptions{RunnerType: gl.Ptr("group_type"), GroupID: gl.Ptr(id)}
}

func projectRunner(id int64) *gl.CreateUserRunnerOptions {
	return &gl.CreateUserRunnerOptions{RunnerType: gl.Ptr("project_type"), ProjectID: gl.Ptr(id)}
}

func instanceRunner() *gl.CreateUserRunnerOptions {
	return &gl.CreateUserRunnerOptions{RunnerType: gl.Ptr("instance_type")}
}

// POST /user/runners: who may create which runner where.
func TestConformanceCreateRunnerByRole(t *testing.T) {
	in := newInstance(t)
	const forbidden = `{"message":"403 Forbidden - Insufficient permissions"}`
	tests := []struct {
		name   string
		client *gl.Client
		opts   *gl.CreateUserRunnerOptions
		status int
		body   string // the error body; empty for 201
	}{
		{"admin, instance runner", in.admin, instanceRunner(), 201, ""},
		{"admin, any group", in.admin, group(500), 201, ""},
		{"admin, any project", in.admin, projectRunner(500), 201, ""},
		{"admin, group that does not exist", in.admin, group(5000), 400, `{"message":"400 Bad request - Missing/invalid group"}`},
		{"admin, project that does not exist", in.admin, projectRunner(5000), 400, `{"message":"400 Bad request - Missing/invalid project"}`},
		{"group owner, own group (the dev stack's)", in.owner, group(gitlab.DevGroupID), 201, ""},
		{"group owner, project of the owned group", in.owner, projectRunner(7), 201, ""},
		{"group owner, instance runner", in.owner, instanceRunner(), 403, forbidden},
		{"group owner, group that does not exist", in.owner, group(5000), 400, `{"message":"400 Bad request - Missing/invalid group"}`},
		{"project maintainer, own project", in.maintainer, projectRunner(23), 201, ""},
		{"project maintainer, a group it does not own", in.maintainer, group(gitlab.DevGroupID), 403, forbidden},
		{"project maintainer, instance runner", in.maintainer, instanceRunner(), 403, forbidden},
		{"developer, its group", in.developer, group(gitlab.DevGroupID), 403, forbidden},
		{"developer, a project of its group", in.developer, projectRunner(1), 403, forbidden},
		{"developer, a group it is not in", in.developer, group(11), 403, forbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := in.srv.RunnerCount()
			r, resp, err := tc.client.Users.CreateUserRunner(tc.opts)
			if tc.status == http.StatusCreated {
				require.NoError(t, err)
				assert.Equal(t, http.StatusCreated, resp.StatusCode)
				assert.Regexp(t, `^glrt-[A-Za-z0-9_-]{20,}$`, r.Token)
				assert.Nil(t, r.TokenExpiresAt)
				assert.Equal(t, before+1, in.srv.RunnerCount())
				return
			}
			apiError(t, err, tc.status, tc.body)
			assert.Equal(t, before, in.srv.RunnerCount(), "a refused create leaves no runner")
		})
	}
}

// Scopes: create_runner or api create runners; other scopes get GitLab's
// insufficient_scope answer naming what would do.
func TestConformanceCreateRunnerScopes(t *testing.T) {
	in := newInstance(t)
	createOnly := in.clientOf(2, "create_runner")
	r := createRunner(t, createOnly, group(gitlab.DevGroupID))
	assert.NotZero(t, r.ID)

	for _, scopes := range [][]string{{"read_api"}, {"read_user"}, {"manage_runner"}} {
		c := in.clientOf(2, scopes...)
		_, _, err := c.Users.CreateUserRunner(group(gitlab.DevGroupID))
		apiError(t, err, 403, `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api create_runner"}`)
	}
	// A create_runner token reads nothing else.
	_, _, err := createOnly.Runners.GetRunnerDetails(r.ID)
	apiError(t, err, 403, `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api read_api manage_runner"}`)
	_, _, err = in.client("glpat-no-such-token-000000000000").Users.CreateUserRunner(group(1))
	apiError(t, err, 401, `{"message":"401 Unauthorized"}`)
}

// POST /user/runners: Grape's parameter errors and the runner's validations.
func TestConformanceCreateRunnerValidation(t *testing.T) {
	in := newInstance(t)
	tests := []struct {
		name string
		opts *gl.CreateUserRunnerOptions
		body string
	}{
		{"no runner_type", &gl.CreateUserRunnerOptions{}, `{"error":"runner_type is missing"}`},
		{"unknown runner_type", &gl.CreateUserRunnerOptions{RunnerType: gl.Ptr("shared")}, `{"error":"runner_type does not have a valid value"}`},
		{"group_type without group_id", &gl.CreateUserRunnerOptions{RunnerType: gl.Ptr("group_type")}, `{"error":"group_id is missing"}`},
		{"project_type without project_id", &gl.CreateUserRunnerOptions{RunnerType: gl.Ptr("project_type")}, `{"error":"project_id is missing"}`},
		{"unknown access_level", &gl.CreateUserRunnerOptions{RunnerType: gl.Ptr("instance_type"), AccessLevel: gl.Ptr("protected")}, `{"error":"access_level does not have a valid value"}`},
		{"timeout under 10 minutes", &gl.CreateUserRunnerOptions{RunnerType: gl.Ptr("instance_type"), MaximumTimeout: gl.Ptr(int64(599))},
			`{"message":"400 Bad request - Maximum timeout needs to be at least 10 minutes"}`},
		{"no untagged jobs and no tags", &gl.CreateUserRunnerOptions{RunnerType: gl.Ptr("instance_type"), RunUntagged: gl.Ptr(false)},
			`{"message":"400 Bad request - Tags list can not be empty when runner is not allowed to pick untagged jobs"}`},
		{"note over 1024 characters", &gl.CreateUserRunnerOptions{RunnerType: gl.Ptr("instance_type"), MaintenanceNote: gl.Ptr(strings.Repeat("n", 1025))},
			`{"message":"400 Bad request - Maintenance note is too long (maximum is 1024 characters)"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := in.admin.Users.CreateUserRunner(tc.opts)
			apiError(t, err, 400, tc.body)
			assert.Zero(t, in.srv.RunnerCount())
		})
	}
}

// GET /runners/:id: the documented fields, GitLab's defaults, and who may
// read which runner.
func TestConformanceGetRunner(t *testing.T) {
	in := newInstance(t)
	created := createRunner(t, in.owner, &gl.CreateUserRunnerOptions{
		RunnerType: gl.Ptr("group_type"), GroupID: gl.Ptr(int64(gitlab.DevGroupID)), Description: gl.Ptr("fleet"),
		TagList: &[]string{"k8s", "linux"}, MaximumTimeout: gl.Ptr(int64(3600)), AccessLevel: gl.Ptr("ref_protected"),
		MaintenanceNote: gl.Ptr("note"), Locked: gl.Ptr(true),
	})
	d, resp, err := in.owner.Runners.GetRunnerDetails(created.ID)
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, created.ID, d.ID)
	assert.Equal(t, "fleet", d.Description)
	assert.Equal(t, "group_type", d.RunnerType)
	assert.False(t, d.IsShared)
	assert.False(t, d.Paused)
	//lint:ignore SA1019 the deprecated active still exists in the API and is tested
	assert.True(t, d.Active)
	assert.ElementsMatch(t, []string{"k8s", "linux"}, d.TagList)
	assert.True(t, d.RunUntagged, "run_untagged defaults to true")
	assert.True(t, d.Locked)
	assert.Equal(t, "ref_protected", d.AccessLevel)
	assert.Equal(t, int64(3600), d.MaximumTimeout)
	assert.Equal(t, "note", d.MaintenanceNote)
	assert.Nil(t, d.ContactedAt)
	assert.Equal(t, "never_contacted", d.Status)
	require.Len(t, d.Groups, 1)
	assert.Equal(t, int64(gitlab.DevGroupID), d.Groups[0].ID)
	assert.Empty(t, d.Projects)

	// Fields client-go's types cannot tell from their zero value.
	status, _, body := raw(t, in.admin, http.MethodGet, fmt.Sprintf("runners/%d", created.ID), nil)
	require.Equal(t, 200, status)
	o := obj(t, body)
	assert.Contains(t, o, "online")
	assert.Nil(t, o["online"], "a runner that never made contact is online: null")
	assert.Equal(t, "group-owner", o["created_by"].(map[string]any)["username"])

	// Defaults of a runner created with nothing but its type.
	inst := createRunner(t, in.admin, instanceRunner())
	status, _, body = raw(t, in.developer, http.MethodGet, fmt.Sprintf("runners/%d", inst.ID), nil)
	require.Equal(t, 200, status, "anyone may read an instance runner")
	o = obj(t, body)
	for key, want := range map[string]any{
		"is_shared": true, "runner_type": "instance_type", "description": "", "paused": false, "locked": false,
		"run_untagged": true, "access_level": "not_protected", "maximum_timeout": nil, "maintenance_note": nil,
		"tag_list": []any{}, "groups": []any{}, "projects": []any{},
	} {
		assert.Equal(t, want, o[key], key)
	}

	project := createRunner(t, in.maintainer, projectRunner(23))
	_, _, err = in.developer.Runners.GetRunnerDetails(created.ID)
	apiError(t, err, 403, `{"message":"403 Forbidden - No access granted"}`)
	_, _, err = in.developer.Runners.GetRunnerDetails(project.ID)
	apiError(t, err, 403, `{"message":"403 Forbidden - No access granted"}`)
	_, _, err = in.maintainer.Runners.GetRunnerDetails(created.ID)
	apiError(t, err, 403, `{"message":"403 Forbidden - No access granted"}`)
	p, _, err := in.maintainer.Runners.GetRunnerDetails(project.ID)
	require.NoError(t, err)
	require.Len(t, p.Projects, 1)
	assert.Equal(t, int64(23), p.Projects[0].ID)
	assert.Equal(t, "glrf-dev/project-23", p.Projects[0].PathWithNamespace)
	_, _, err = in.owner.Runners.GetRunnerDetails(project.ID)
	assert.NoError(t, err, "a group Owner reads the runners of the group's projects")

	_, resp, err = in.admin.Runners.GetRunnerDetails(99999)
	assert.ErrorIs(t, err, gl.ErrNotFound)
	assert.Equal(t, 404, resp.StatusCode)
	status, _, body = raw(t, in.admin, http.MethodGet, "runners/99999", nil)
	assert.Equal(t, 404, status)
	assert.JSONEq(t, `{"message":"404 Runner Not Found"}`, string(body))
}

// verifyOptions are POST /runners/verify's parameters with the system_id
// that client-go's VerifyRegisteredRunnerOptions lacks.
type verifyOptions struct {
	Token    string `json:"token"`
	SystemID string `json:"system_id,omitempty"`
}

// Runner status through its life: never contacted (online null), verified
// (a manager entry, online), paused, deleted by its own token.
func TestConformanceRunnerStatus(t *testing.T) {
	in := newInstance(t)
	created := createRunner(t, in.owner, group(gitlab.DevGroupID))
	path := fmt.Sprintf("runners/%d", created.ID)

	status, _, body := raw(t, in.owner, http.MethodGet, path+"/managers", nil)
	require.Equal(t, 200, status)
	assert.JSONEq(t, `[]`, string(body))

	// The runner's own client: no personal access token.
	runnerClient := in.client("")
	_, err := runnerClient.Runners.VerifyRegisteredRunner(&gl.VerifyRegisteredRunnerOptions{Token: gl.Ptr("glrt-wrong")})
	apiError(t, err, 403, `{"message":"403 Forbidden"}`)
	req, err := runnerClient.NewRequest(http.MethodPost, "runners/verify", &verifyOptions{Token: created.Token, SystemID: "s_0123456789ab"}, nil)
	require.NoError(t, err)
	var verified struct {
		ID             int64   `json:"id"`
		Token          string  `json:"token"`
		TokenExpiresAt *string `json:"token_expires_at"`
	}
	resp, err := runnerClient.Do(req, &verified)
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, created.ID, verified.ID)
	assert.Equal(t, created.Token, verified.Token)

	d, _, err := in.owner.Runners.GetRunnerDetails(created.ID)
	require.NoError(t, err)
	assert.Equal(t, "online", d.Status)
	assert.True(t, d.Online)
	assert.NotNil(t, d.ContactedAt)
	status, _, body = raw(t, in.owner, http.MethodGet, path+"/managers", nil)
	require.Equal(t, 200, status)
	var managers []map[string]any
	require.NoError(t, json.Unmarshal(body, &managers))
	require.Len(t, managers, 1, "verify with a system_id creates the manager entry")
	assert.Equal(t, "s_0123456789ab", managers[0]["system_id"])
	assert.Equal(t, "online", managers[0]["status"])

	d, _, err = in.owner.Runners.UpdateRunnerDetails(created.ID, &gl.UpdateRunnerDetailsOptions{Paused: gl.Ptr(true)})
	require.NoError(t, err)
	assert.Equal(t, "paused", d.Status, "a paused runner that made contact is paused")
	assert.True(t, d.Paused)
	//lint:ignore SA1019 the deprecated active still exists in the API and is tested
	assert.False(t, d.Active)

	// A paused runner that never made contact is still never_contacted.
	quiet := createRunner(t, in.owner, &gl.CreateUserRunnerOptions{RunnerType: gl.Ptr("group_type"),
		GroupID: gl.Ptr(int64(gitlab.DevGroupID)), Paused: gl.Ptr(true)})
	status, _, body = raw(t, in.owner, http.MethodGet, fmt.Sprintf("runners/%d", quiet.ID), nil)
	require.Equal(t, 200, status)
	o := obj(t, body)
	assert.Equal(t, "never_contacted", o["status"])
	assert.Nil(t, o["online"])

	// DELETE /runners with the authentication token.
	_, err = runnerClient.Runners.DeleteRegisteredRunner(&gl.DeleteRegisteredRunnerOptions{Token: gl.Ptr("glrt-wrong")})
	apiError(t, err, 403, `{"message":"403 Forbidden"}`)
	resp, err = runnerClient.Runners.DeleteRegisteredRunner(&gl.DeleteRegisteredRunnerOptions{Token: gl.Ptr(created.Token)})
	require.NoError(t, err)
	assert.Equal(t, 204, resp.StatusCode)
	_, _, err = in.owner.Runners.GetRunnerDetails(created.ID)
	assert.ErrorIs(t, err, gl.ErrNotFound)
	_, err = runnerClient.Runners.VerifyRegisteredRunner(&gl.VerifyRegisteredRunnerOptions{Token: gl.Ptr(created.Token)})
	apiError(t, err, 403, `{"message":"403 Forbidden"}`)
}

// PUT /runners/:id: Grape's at_least_one_of and mutually_exclusive, the
// model's validations, and who may update which runner.
func TestConformanceUpdateRunner(t *testing.T) {
	in := newInstance(t)
	groupRunner := createRunner(t, in.owner, group(gitlab.DevGroupID))
	projRunner := createRunner(t, in.maintainer, projectRunner(23))

	_, _, err := in.owner.Runners.UpdateRunnerDetails(groupRunner.ID, &gl.UpdateRunnerDetailsOptions{})
	apiError(t, err, 400, `{"error":"description, active, paused, tag_list, run_untagged, locked, access_level, maximum_timeout, maintenance_note are missing, at least one parameter must be provided"}`)
	//lint:ignore SA1019 the deprecated active still exists in the API and is tested
	_, _, err = in.owner.Runners.UpdateRunnerDetails(groupRunner.ID, &gl.UpdateRunnerDetailsOptions{Active: gl.Ptr(true), Paused: gl.Ptr(true)})
	apiError(t, err, 400, `{"error":"active, paused are mutually exclusive"}`)
	_, _, err = in.owner.Runners.UpdateRunnerDetails(groupRunner.ID, &gl.UpdateRunnerDetailsOptions{MaximumTimeout: gl.Ptr(int64(60))})
	apiError(t, err, 400, `{"message":{"maximum_timeout":["needs to be at least 10 minutes"]}}`)
	_, _, err = in.owner.Runners.UpdateRunnerDetails(groupRunner.ID, &gl.UpdateRunnerDetailsOptions{AccessLevel: gl.Ptr("protected")})
	apiError(t, err, 400, `{"error":"access_level does not have a valid value"}`)

	d, resp, err := in.owner.Runners.UpdateRunnerDetails(groupRunner.ID, &gl.UpdateRunnerDetailsOptions{
		Description: gl.Ptr("renamed"), TagList: &[]string{"gpu"}, RunUntagged: gl.Ptr(false),
		MaximumTimeout: gl.Ptr(int64(7200)), MaintenanceNote: gl.Ptr("m"),
		//lint:ignore SA1019 the deprecated active still exists in the API and is tested
		Active: gl.Ptr(false),
	})
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "renamed", d.Description)
	assert.Equal(t, []string{"gpu"}, d.TagList)
	assert.False(t, d.RunUntagged)
	assert.Equal(t, int64(7200), d.MaximumTimeout)
	assert.True(t, d.Paused, "active false is paused")

	// Who may: the group's Owner, the project's Maintainer, the administrator.
	_, _, err = in.developer.Runners.UpdateRunnerDetails(groupRunner.ID, &gl.UpdateRunnerDetailsOptions{Paused: gl.Ptr(false)})
	apiError(t, err, 403, `{"message":"403 Forbidden - No access granted"}`)
	_, _, err = in.maintainer.Runners.UpdateRunnerDetails(groupRunner.ID, &gl.UpdateRunnerDetailsOptions{Paused: gl.Ptr(false)})
	apiError(t, err, 403, `{"message":"403 Forbidden - No access granted"}`)
	_, _, err = in.maintainer.Runners.UpdateRunnerDetails(projRunner.ID, &gl.UpdateRunnerDetailsOptions{Paused: gl.Ptr(true)})
	assert.NoError(t, err)
	inst := createRunner(t, in.admin, instanceRunner())
	_, _, err = in.owner.Runners.UpdateRunnerDetails(inst.ID, &gl.UpdateRunnerDetailsOptions{Paused: gl.Ptr(true)})
	apiError(t, err, 403, `{"message":"403 Forbidden - No access granted"}`)
	_, _, err = in.admin.Runners.UpdateRunnerDetails(inst.ID, &gl.UpdateRunnerDetailsOptions{Paused: gl.Ptr(true)})
	assert.NoError(t, err)
	_, _, err = in.admin.Runners.UpdateRunnerDetails(99999, &gl.UpdateRunnerDetailsOptions{Paused: gl.Ptr(true)})
	assert.ErrorIs(t, err, gl.ErrNotFound)

	readOnly := in.clientOf(2, "read_api")
	_, _, err = readOnly.Runners.UpdateRunnerDetails(groupRunner.ID, &gl.UpdateRunnerDetailsOptions{Paused: gl.Ptr(false)})
	apiError(t, err, 403, `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api manage_runner"}`)
	manage := in.clientOf(2, "manage_runner")
	_, _, err = manage.Runners.UpdateRunnerDetails(groupRunner.ID, &gl.UpdateRunnerDetailsOptions{Paused: gl.Ptr(false)})
	assert.NoError(t, err, "manage_runner updates runners")
}

// DELETE /runners/:id.
func TestConformanceDeleteRunner(t *testing.T) {
	in := newInstance(t)
	groupRunner := createRunner(t, in.owner, group(gitlab.DevGroupID))

	_, err := in.developer.Runners.DeleteRegisteredRunnerByID(groupRunner.ID)
	apiError(t, err, 403, `{"message":"403 Forbidden - No access granted"}`)
	_, err = in.maintainer.Runners.DeleteRegisteredRunnerByID(groupRunner.ID)
	apiError(t, err, 403, `{"message":"403 Forbidden - No access granted"}`)
	resp, err := in.owner.Runners.DeleteRegisteredRunnerByID(groupRunner.ID)
	require.NoError(t, err)
	assert.Equal(t, 204, resp.StatusCode)
	resp, err = in.owner.Runners.DeleteRegisteredRunnerByID(groupRunner.ID)
	assert.ErrorIs(t, err, gl.ErrNotFound, "a runner already gone is 404")
	assert.Equal(t, 404, resp.StatusCode)
	status, _, body := raw(t, in.owner, http.MethodDelete, fmt.Sprintf("runners/%d", groupRunner.ID), nil)
	assert.Equal(t, 404, status)
	assert.JSONEq(t, `{"message":"404 Runner Not Found"}`, string(body))

	projRunner := createRunner(t, in.maintainer, projectRunner(23))
	_, err = in.maintainer.Runners.RemoveRunner(projRunner.ID)
	assert.NoError(t, err, "a project Maintainer deletes the project's runner")
	assert.Zero(t, in.srv.RunnerCount())
}

// GET /runners/all: administrators only, type/status/paused/tag_list
// filters, offset pagination headers with X-Prev-Page and Link.
func TestConformanceListAllRunners(t *testing.T) {
	in := newInstance(t)
	for i := range 5 {
		createRunner(t, in.admin, &gl.CreateUserRunnerOptions{RunnerType: gl.Ptr("instance_type"),
			Description: gl.Ptr(fmt.Sprint("r", i)), TagList: &[]string{"a", fmt.Sprint("t", i%2)}})
	}
	createRunner(t, in.owner, &gl.CreateUserRunnerOptions{RunnerType: gl.Ptr("group_type"),
		GroupID: gl.Ptr(int64(gitlab.DevGroupID)), Paused: gl.Ptr(true), TagList: &[]string{"a"}})

	all, resp, err := in.admin.Runners.ListAllRunners(&gl.ListRunnersOptions{})
	require.NoError(t, err)
	assert.Len(t, all, 6)
	assert.Equal(t, int64(6), resp.TotalItems)

	list, _, err := in.admin.Runners.ListAllRunners(&gl.ListRunnersOptions{TagList: &[]string{"a", "t1"}})
	require.NoError(t, err)
	var names []string
	for _, r := range list {
		names = append(names, r.Description)
	}
	assert.Equal(t, []string{"r1", "r3"}, names, "tag_list keeps runners with every tag")
	list, _, err = in.admin.Runners.ListAllRunners(&gl.ListRunnersOptions{Type: gl.Ptr("group_type")})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.True(t, list[0].Paused)
	list, _, err = in.admin.Runners.ListAllRunners(&gl.ListRunnersOptions{Paused: gl.Ptr(false)})
	require.NoError(t, err)
	assert.Len(t, list, 5)
	list, _, err = in.admin.Runners.ListAllRunners(&gl.ListRunnersOptions{Status: gl.Ptr("never_contacted")})
	require.NoError(t, err)
	assert.Len(t, list, 6)

	_, _, err = in.admin.Runners.ListAllRunners(&gl.ListRunnersOptions{Type: gl.Ptr("shared_type")})
	apiError(t, err, 400, `{"error":"type does not have a valid value"}`)
	_, _, err = in.admin.Runners.ListAllRunners(&gl.ListRunnersOptions{Status: gl.Ptr("busy")})
	apiError(t, err, 400, `{"error":"status does not have a valid value"}`)
	_, _, err = in.owner.Runners.ListAllRunners(&gl.ListRunnersOptions{})
	apiError(t, err, 403, `{"message":"403 Forbidden"}`)

	// Page 2 of 3.
	page, resp, err := in.admin.Runners.ListAllRunners(&gl.ListRunnersOptions{ListOptions: gl.ListOptions{Page: 2, PerPage: 2}})
	require.NoError(t, err)
	require.Len(t, page, 2)
	assert.Equal(t, int64(3), page[0].ID)
	assert.Equal(t, int64(2), resp.CurrentPage)
	assert.Equal(t, int64(1), resp.PreviousPage)
	assert.Equal(t, int64(3), resp.NextPage)
	assert.Equal(t, int64(3), resp.TotalPages)
	assert.Equal(t, "1", resp.Header.Get("X-Prev-Page"))
	base := in.ts.URL + "/api/v4/runners/all?page="
	assert.Equal(t, base+"1&per_page=2", resp.PreviousLink)
	assert.Equal(t, base+"3&per_page=2", resp.NextLink)
	assert.Equal(t, base+"1&per_page=2", resp.FirstLink)
	assert.Equal(t, base+"3&per_page=2", resp.LastLink)
	_, resp, err = in.admin.Runners.ListAllRunners(&gl.ListRunnersOptions{ListOptions: gl.ListOptions{Page: 1, PerPage: 2}})
	require.NoError(t, err)
	assert.Equal(t, "", resp.Header.Get("X-Prev-Page"), "no previous page: the header is empty")
	assert.Empty(t, resp.PreviousLink)
}

// GET /groups/:id/runners and GET /projects/:id/runners: what a group or a
// project can use, for Maintainers (and above) only.
func TestConformanceGroupAndProjectRunners(t *testing.T) {
	in := newInstance(t)
	inst := createRunner(t, in.admin, instanceRunner())
	g1 := createRunner(t, in.owner, group(gitlab.DevGroupID))
	g2 := createRunner(t, in.owner, group(2))
	p23 := createRunner(t, in.maintainer, projectRunner(23))
	p24 := createRunner(t, in.maintainer, projectRunner(24))
	ids := func(list []*gl.Runner) []int64 {
		out := []int64{}
		for _, r := range list {
			out = append(out, r.ID)
		}
		return out
	}

	list, _, err := in.owner.Runners.ListGroupsRunners(gitlab.DevGroupID, &gl.ListGroupsRunnersOptions{})
	require.NoError(t, err)
	assert.Equal(t, []int64{inst.ID, g1.ID}, ids(list), "the group's runners and the instance's")
	list, _, err = in.owner.Runners.ListGroupsRunners(gitlab.DevGroupID, &gl.ListGroupsRunnersOptions{Type: gl.Ptr("group_type")})
	require.NoError(t, err)
	assert.Equal(t, []int64{g1.ID}, ids(list))
	_, _, err = in.owner.Runners.ListGroupsRunners(gitlab.DevGroupID, &gl.ListGroupsRunnersOptions{Type: gl.Ptr("nope")})
	apiError(t, err, 400, `{"error":"type does not have a valid value"}`)
	_, _, err = in.developer.Runners.ListGroupsRunners(gitlab.DevGroupID, &gl.ListGroupsRunnersOptions{})
	apiError(t, err, 403, `{"message":"403 Forbidden"}`)
	status, _, body := raw(t, in.maintainer, http.MethodGet, "groups/1/runners", nil)
	assert.Equal(t, 404, status, "a private group is invisible to non-members")
	assert.JSONEq(t, `{"message":"404 Group Not Found"}`, string(body))

	list, _, err = in.maintainer.Runners.ListProjectRunners(23, &gl.ListProjectRunnersOptions{})
	require.NoError(t, err)
	assert.Equal(t, []int64{inst.ID, g1.ID, p23.ID}, ids(list), "the project's, its group's and the instance's runners")
	list, _, err = in.maintainer.Runners.ListProjectRunners(23, &gl.ListProjectRunnersOptions{Type: gl.Ptr("project_type")})
	require.NoError(t, err)
	assert.Equal(t, []int64{p23.ID}, ids(list))
	assert.NotContains(t, ids(list), p24.ID)
	assert.NotContains(t, ids(list), g2.ID)
	_, _, err = in.developer.Runners.ListProjectRunners(23, &gl.ListProjectRunnersOptions{})
	apiError(t, err, 403, `{"message":"403 Forbidden"}`)
	status, _, body = raw(t, in.admin, http.MethodGet, "projects/5000/runners", nil)
	assert.Equal(t, 404, status)
	assert.JSONEq(t, `{"message":"404 Project Not Found"}`, string(body))
}

// GET /groups/:id, GET /projects/:id: the seed, as each role sees it.
func TestConformanceGroupsAndProjects(t *testing.T) {
	in := newInstance(t)
	g, _, err := in.developer.Groups.GetGroup(gitlab.DevGroupID, nil)
	require.NoError(t, err)
	assert.Equal(t, "glrf-dev", g.Path)
	assert.Equal(t, "glrf-dev", g.FullPath)
	assert.Equal(t, gl.PrivateVisibility, g.Visibility)
	for _, id := range []int64{11, 42, gitlab.PoolLastID} {
		_, _, err := in.owner.Groups.GetGroup(id, nil)
		assert.NoError(t, err, "group %d exists", id)
	}
	for _, c := range []*gl.Client{in.admin, in.owner} {
		_, resp, err := c.Groups.GetGroup(gitlab.PoolLastID+1, nil)
		assert.ErrorIs(t, err, gl.ErrNotFound)
		assert.Equal(t, 404, resp.StatusCode)
	}
	_, _, err = in.maintainer.Groups.GetGroup(gitlab.DevGroupID, nil)
	assert.ErrorIs(t, err, gl.ErrNotFound, "private group, not a member")

	p, _, err := in.maintainer.Projects.GetProject(52, nil)
	require.NoError(t, err)
	assert.Equal(t, "glrf-dev/project-52", p.PathWithNamespace)
	assert.Equal(t, int64(gitlab.DevGroupID), p.Namespace.ID)
	_, _, err = in.developer.Projects.GetProject(52, nil)
	assert.NoError(t, err, "a member of the group sees its projects")
	status, _, body := raw(t, in.admin, http.MethodGet, "projects/1234", nil)
	assert.Equal(t, 404, status)
	assert.JSONEq(t, `{"message":"404 Project Not Found"}`, string(body))
}

// GET /user and POST /users/:id/personal_access_tokens.
func TestConformanceUsersAndTokens(t *testing.T) {
	in := newInstance(t)
	for c, want := range map[*gl.Client]string{in.admin: "root", in.owner: "group-owner", in.maintainer: "project-maintainer", in.developer: "developer"} {
		u, _, err := c.Users.CurrentUser()
		require.NoError(t, err)
		assert.Equal(t, want, u.Username)
		assert.Equal(t, want == "root", u.IsAdmin)
	}
	readUser := in.clientOf(4, "read_user")
	u, _, err := readUser.Users.CurrentUser()
	require.NoError(t, err)
	assert.Equal(t, "developer", u.Username)
	_, _, err = in.clientOf(4, "create_runner").Users.CurrentUser()
	apiError(t, err, 403, `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api read_api read_user"}`)

	pat, _, err := in.admin.Users.CreatePersonalAccessToken(3, &gl.CreatePersonalAccessTokenOptions{
		Name: gl.Ptr("ci"), Scopes: &[]string{"create_runner", "manage_runner"}})
	require.NoError(t, err)
	assert.Equal(t, int64(3), pat.UserID)
	assert.Equal(t, []string{"create_runner", "manage_runner"}, pat.Scopes)
	assert.True(t, pat.Active)
	assert.False(t, pat.Revoked)
	assert.NotNil(t, pat.ExpiresAt, "GitLab gives every new token an expiry")

	_, _, err = in.owner.Users.CreatePersonalAccessToken(3, &gl.CreatePersonalAccessTokenOptions{
		Name: gl.Ptr("x"), Scopes: &[]string{"api"}})
	apiError(t, err, 403, `{"message":"403 Forbidden"}`)
	_, _, err = in.admin.Users.CreatePersonalAccessToken(3, &gl.CreatePersonalAccessTokenOptions{
		Name: gl.Ptr("x"), Scopes: &[]string{"everything"}})
	apiError(t, err, 400, `{"error":"scopes does not have a valid value"}`)
	_, _, err = in.admin.Users.CreatePersonalAccessToken(3, &gl.CreatePersonalAccessTokenOptions{Scopes: &[]string{"api"}})
	apiError(t, err, 400, `{"error":"name is missing"}`)
	status, _, body := raw(t, in.admin, http.MethodPost, "users/99/personal_access_tokens",
		&gl.CreatePersonalAccessTokenOptions{Name: gl.Ptr("x"), Scopes: &[]string{"api"}})
	assert.Equal(t, 404, status)
	assert.JSONEq(t, `{"message":"404 User Not Found"}`, string(body))
}

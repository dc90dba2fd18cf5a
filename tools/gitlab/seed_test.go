package gitlab

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A seed file decides who exists and who may do what.
func TestSeedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seed.json")
	require.NoError(t, os.WriteFile(path, []byte(`{
  "users": [{"id": 1, "username": "root", "admin": true}, {"id": 7, "username": "alice"}],
  "groups": [{"id": 10, "path": "top", "members": [{"user": "alice", "role": "owner"}]},
             {"id": 11, "path": "sub", "parent_id": 10},
             {"id": 12, "path": "other"}],
  "projects": [{"id": 20, "path": "app", "group_id": 12, "members": [{"user": "alice", "role": "developer"}]}],
  "tokens": [{"name": "alice", "token": "glpat-alice-0000000000000000000", "scopes": ["create_runner", "read_api"], "user": "alice"}]
}`), 0o600))
	seed, err := LoadSeed(path)
	require.NoError(t, err)
	srv, err := New(Config{Seed: seed})
	require.NoError(t, err)
	s := &standin{t: t, srv: srv, ts: newTestServer(t, srv)}
	const alice = "glpat-alice-0000000000000000000"

	create := func(body map[string]any) response {
		return s.do("POST", "/api/v4/user/runners", alice, body)
	}
	assert.Equal(t, 201, create(map[string]any{"runner_type": "group_type", "group_id": 10}).Status)
	assert.Equal(t, 201, create(map[string]any{"runner_type": "group_type", "group_id": 11}).Status, "an Owner of the parent owns the subgroup")
	assert.Equal(t, 403, create(map[string]any{"runner_type": "group_type", "group_id": 12}).Status)
	assert.Equal(t, 403, create(map[string]any{"runner_type": "project_type", "project_id": 20}).Status, "Developer is not enough")
	assert.Equal(t, 400, create(map[string]any{"runner_type": "group_type", "group_id": 1}).Status, "group 1 is not in this seed")
	g := s.do("GET", "/api/v4/groups/11", alice, nil).Obj()
	assert.Equal(t, "top/sub", g["full_path"])
	assert.Equal(t, float64(10), g["parent_id"])
	assert.Equal(t, 404, s.do("GET", "/api/v4/groups/12", alice, nil).Status)
}

func TestSeedErrors(t *testing.T) {
	for name, seed := range map[string]*Seed{
		"duplicate user":    {Users: []SeedUser{{ID: 1, Username: "a"}, {ID: 1, Username: "b"}}},
		"unknown member":    {Users: []SeedUser{{ID: 1, Username: "a"}}, Groups: []SeedGroup{{ID: 1, Path: "g", Members: []SeedMember{{User: "b", Role: "owner"}}}}},
		"unknown role":      {Users: []SeedUser{{ID: 1, Username: "a"}}, Groups: []SeedGroup{{ID: 1, Path: "g", Members: []SeedMember{{User: "a", Role: "boss"}}}}},
		"missing parent":    {Groups: []SeedGroup{{ID: 1, Path: "g", ParentID: 9}}},
		"parent cycle":      {Groups: []SeedGroup{{ID: 1, Path: "a", ParentID: 2}, {ID: 2, Path: "b", ParentID: 1}}},
		"project no group":  {Groups: []SeedGroup{{ID: 1, Path: "g"}}, Projects: []SeedProject{{ID: 1, Path: "p", GroupID: 2}}},
		"duplicate project": {Groups: []SeedGroup{{ID: 1, Path: "g"}}, Projects: []SeedProject{{ID: 1, Path: "p", GroupID: 1}, {ID: 1, Path: "q", GroupID: 1}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := New(Config{Seed: seed})
			assert.Error(t, err)
		})
	}
	path := filepath.Join(t.TempDir(), "seed.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"users": [], "grups": []}`), 0o600))
	_, err := LoadSeed(path)
	assert.ErrorContains(t, err, "grups", "a misspelt key is an error, not an empty list")
}

// The default seed has the dev stack's group and every id the e2e suite's
// stacks use, and nothing from 1000 on.
func TestDefaultSeedIDs(t *testing.T) {
	s := newStandin(t, "")
	for _, id := range []int{1, 11, 21, 22, 31, 37, 41, 51, 900, 999} {
		assert.Equal(t, 200, s.do("GET", fmt.Sprintf("/api/v4/groups/%d", id), adminTok, nil).Status, "group %d", id)
	}
	for _, id := range []int{23, 52, 999} {
		assert.Equal(t, 200, s.do("GET", fmt.Sprintf("/api/v4/projects/%d", id), adminTok, nil).Status, "project %d", id)
	}
	assert.Equal(t, 404, s.do("GET", "/api/v4/groups/1000", adminTok, nil).Status)
	assert.Equal(t, 404, s.do("GET", "/api/v4/projects/1234", adminTok, nil).Status)
}

// Tokens minted through the API survive a restart, as digests only.
func TestMintedTokensPersist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	first := newStandin(t, path)
	res := first.do("POST", "/api/v4/users/4/personal_access_tokens", adminTok, map[string]any{"name": "dev", "scopes": []string{"read_user"}})
	require.Equal(t, 201, res.Status, string(res.Raw))
	tok := res.Obj()["token"].(string)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.NotContains(t, string(data), tok)
	first.ts.Close()

	second := newStandin(t, path)
	u := second.do("GET", "/api/v4/user", tok, nil)
	require.Equal(t, 200, u.Status)
	assert.Equal(t, "developer", u.Obj()["username"])
	assert.NotContains(t, u.Obj(), "is_admin")
}

// A version 1 state file (contacts known only through managers) loads.
func TestStateVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"version":1,"next_runner_id":3,"next_manager_id":2,"runners":[
 {"id":2,"token_sha256":"x","runner_type":"instance_type","description":"old","tag_list":[],"run_untagged":true,
  "access_level":"not_protected","created_at":"2020-01-01T00:00:00Z","created_by_user_id":1,
  "managers":[{"id":1,"system_id":"s_1","created_at":"2020-01-01T00:00:00Z","contacted_at":"2020-01-02T00:00:00Z"}]}]}`), 0o600))
	s := newStandin(t, path)
	o := s.do("GET", "/api/v4/runners/2", adminTok, nil).Obj()
	assert.Equal(t, "2020-01-02T00:00:00.000Z", o["contacted_at"])
	assert.Equal(t, "stale", o["status"])
	assert.Equal(t, false, o["online"])
}

// Default and protected branches in a seed file: absent, main and main
// protected; an empty list protects nothing; an empty name is refused.
func TestSeedBranches(t *testing.T) {
	path := filepath.Join(t.TempDir(), "seed.json")
	require.NoError(t, os.WriteFile(path, []byte(`{
  "users": [{"id": 1, "username": "root", "admin": true}],
  "groups": [{"id": 10, "path": "top"}],
  "projects": [{"id": 20, "path": "a", "group_id": 10},
               {"id": 21, "path": "b", "group_id": 10, "default_branch": "trunk", "protected_branches": []},
               {"id": 22, "path": "c", "group_id": 10, "protected_branches": ["main", "release/*"]}]
}`), 0o600))
	seed, err := LoadSeed(path)
	require.NoError(t, err)
	dir, err := newDirectory(seed)
	require.NoError(t, err)
	assert.Equal(t, "main", dir.projects[20].DefaultBranch)
	assert.Equal(t, []string{"main"}, dir.projects[20].ProtectedBranches)
	assert.Equal(t, "trunk", dir.projects[21].DefaultBranch)
	assert.Empty(t, dir.projects[21].ProtectedBranches)
	assert.Equal(t, []string{"main", "release/*"}, dir.projects[22].ProtectedBranches)

	blank := []string{" "}
	seed.Projects[0].ProtectedBranches = &blank
	_, err = newDirectory(seed)
	assert.ErrorContains(t, err, "seed: project 20: a protected branch name is empty")
}

package gitlab

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStateSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	first := newStandin(t, path)
	id1, tok1 := first.create(map[string]any{"runner_type": "group_type", "group_id": 5, "description": "one", "tag_list": []string{"a"}})
	id2, _ := first.create(map[string]any{"runner_type": "instance_type"})
	require.Equal(t, 200, first.do("POST", "/api/v4/runners/verify", "", map[string]any{"token": tok1, "system_id": "s_111111111111"}).Status)
	require.Equal(t, 204, first.do("DELETE", fmt.Sprintf("/api/v4/runners/%d", id2), adminTok, nil).Status)
	first.ts.Close()

	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.NotContains(t, string(data), tok1, "the state file must not hold runner tokens")
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.Contains(e.Name(), ".tmp-"), "temporary file left behind: %s", e.Name())
	}

	second := newStandin(t, path)
	o := second.do("GET", fmt.Sprintf("/api/v4/runners/%d", id1), adminTok, nil).Obj()
	assert.Equal(t, "one", o["description"])
	assert.Equal(t, []any{"a"}, o["tag_list"])
	assert.Len(t, second.do("GET", fmt.Sprintf("/api/v4/runners/%d/managers", id1), adminTok, nil).JSON(), 1)
	assert.Equal(t, 404, second.do("GET", fmt.Sprintf("/api/v4/runners/%d", id2), adminTok, nil).Status)
	// The token still verifies, and ids are never reused.
	assert.Equal(t, 200, second.do("POST", "/api/v4/runners/verify", "", map[string]any{"token": tok1}).Status)
	id3, _ := second.create(map[string]any{"runner_type": "instance_type"})
	assert.Equal(t, id2+1, id3)
}

func TestLoadStateErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte("{not json"), 0o600))
	_, err := New(Config{StatePath: bad})
	assert.Error(t, err)

	wrongVersion := filepath.Join(dir, "v.json")
	require.NoError(t, os.WriteFile(wrongVersion, []byte(`{"version":99}`), 0o600))
	_, err = New(Config{StatePath: wrongVersion})
	assert.Error(t, err)

	// A missing file is an empty state.
	srv, err := New(Config{StatePath: filepath.Join(dir, "missing.json")})
	require.NoError(t, err)
	assert.Equal(t, 0, srv.RunnerCount())
}

func TestSaveFailureAnswers500(t *testing.T) {
	dir := t.TempDir()
	s := newStandin(t, filepath.Join(dir, "sub", "state.json")) // directory does not exist
	res := s.do("POST", "/api/v4/user/runners", adminTok, map[string]any{"runner_type": "instance_type"})
	assert.Equal(t, 500, res.Status)
	assert.JSONEq(t, `{"message":"500 Internal Server Error"}`, string(res.Raw))
}

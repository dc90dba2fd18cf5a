package gitlab

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadOrCreateTokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dir", "admin-token")
	tok, created, err := LoadOrCreateTokenFile(path)
	require.NoError(t, err)
	assert.True(t, created)
	assert.Regexp(t, `^glpat-[A-Za-z0-9_-]{20,}$`, tok)
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	again, created, err := LoadOrCreateTokenFile(path)
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, tok, again)

	require.NoError(t, os.WriteFile(path, []byte("\n"), 0o600))
	_, _, err = LoadOrCreateTokenFile(path)
	assert.Error(t, err)
}

package localengine

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultOptionsDevelopmentSecretsOnlyForDev(t *testing.T) {
	assert.True(t, DefaultOptions("/repo", "dev").DevelopmentSecrets)
	for _, stack := range []string{"production", "staging", "Dev", "dev2", ""} {
		assert.False(t, DefaultOptions("/repo", stack).DevelopmentSecrets, "stack %q", stack)
	}
}

// A stack without development secrets is never opened with the public
// passphrase, however it arrives: the check runs before the CLI does, so
// no stack file can be (re-)encrypted with it.
func TestOtherStacksRefuseTheDevelopmentPassphrase(t *testing.T) {
	dir := t.TempDir()
	opts := Options{WorkDir: dir, StateDir: filepath.Join(dir, "state"), PulumiHome: filepath.Join(dir, "home"),
		PulumiBin: "/nonexistent/bin/pulumi"}

	t.Run("in Env", func(t *testing.T) {
		o := opts
		o.Env = map[string]string{"PULUMI_CONFIG_PASSPHRASE": LocalPassphrase}
		_, err := Stack(context.Background(), "production", o)
		assert.ErrorIs(t, err, ErrDevelopmentPassphrase)
	})
	t.Run("in the environment", func(t *testing.T) {
		t.Setenv("PULUMI_CONFIG_PASSPHRASE", LocalPassphrase)
		_, err := Stack(context.Background(), "production", opts)
		assert.ErrorIs(t, err, ErrDevelopmentPassphrase)
	})
	t.Run("in a passphrase file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "phrase")
		require.NoError(t, os.WriteFile(file, []byte(LocalPassphrase+"\n"), 0o600))
		o := opts
		o.Env = map[string]string{"PULUMI_CONFIG_PASSPHRASE_FILE": file}
		_, err := Stack(context.Background(), "production", o)
		assert.ErrorIs(t, err, ErrDevelopmentPassphrase)
	})
	t.Run("the caller's own passphrase goes through", func(t *testing.T) {
		o := opts
		o.Env = map[string]string{"PULUMI_CONFIG_PASSPHRASE": "the production passphrase"}
		_, err := Stack(context.Background(), "production", o)
		require.Error(t, err, "the CLI path does not exist")
		assert.NotErrorIs(t, err, ErrDevelopmentPassphrase)
	})
}

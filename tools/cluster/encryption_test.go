package cluster

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEncryptionConfigIsMadeOnceAndPrivate(t *testing.T) {
	cfg := testConfig(t)
	made, err := cfg.ensureEncryptionConfig()
	require.NoError(t, err)
	assert.True(t, made)
	info, err := os.Stat(cfg.EncryptionConfigFile())
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "only the owner reads the key")
	key, err := readEncryptionKey(cfg.EncryptionConfigFile())
	require.NoError(t, err)
	assert.Len(t, key, 32)
	text, err := os.ReadFile(cfg.EncryptionConfigFile())
	require.NoError(t, err)
	assert.Contains(t, string(text), "kind: EncryptionConfiguration")
	assert.Contains(t, string(text), "- secrets")

	require.NoError(t, os.Chmod(cfg.EncryptionConfigFile(), 0o644))
	made, err = cfg.ensureEncryptionConfig()
	require.NoError(t, err)
	assert.False(t, made, "a restart keeps the key: the Secrets in etcd stay readable")
	again, err := readEncryptionKey(cfg.EncryptionConfigFile())
	require.NoError(t, err)
	assert.Equal(t, key, again)
	info, err = os.Stat(cfg.EncryptionConfigFile())
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "and its mode")

	other := testConfig(t)
	_, err = other.ensureEncryptionConfig()
	require.NoError(t, err)
	otherKey, err := readEncryptionKey(other.EncryptionConfigFile())
	require.NoError(t, err)
	assert.NotEqual(t, key, otherKey, "each cluster its own key")

	require.NoError(t, os.WriteFile(cfg.EncryptionConfigFile(), []byte("kind: Other\n"), 0o600))
	_, err = cfg.ensureEncryptionConfig()
	assert.ErrorContains(t, err, "cluster stop --purge", "a damaged file is not replaced silently: the old key would be lost")
}

func TestAPIServerEncryptsSecrets(t *testing.T) {
	cfg := testConfig(t)
	value, ok := flagValue(cfg.Args(APIServer), "--encryption-provider-config")
	require.True(t, ok)
	assert.Equal(t, cfg.EncryptionConfigFile(), value)
}

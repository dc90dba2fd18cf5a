// Package tests runs the program as a whole: every committed stack file
// through Pulumi mocks here, and through the real engine in tests/e2e.
package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"example.com/gitlab-runner-fleet/program"
	"example.com/gitlab-runner-fleet/tests/mocks"
)

// loadStackConfig reads a Pulumi.<stack>.yaml into the flat form the engine
// hands a program: structured values as JSON, secure values listed as secret.
func loadStackConfig(t *testing.T, path string) (map[string]string, []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var file struct {
		Config map[string]any `yaml:"config"`
	}
	require.NoError(t, yaml.Unmarshal(data, &file))
	config := map[string]string{}
	var secrets []string
	for key, value := range file.Config {
		switch v := value.(type) {
		case string:
			config[key] = v
		case map[string]any:
			if secure, ok := v["secure"]; ok && len(v) == 1 {
				// Encrypted values cannot be read here; the program only needs to know they are secret.
				config[key] = fmt.Sprint(secure)
				secrets = append(secrets, key)
				continue
			}
			encoded, err := json.Marshal(v)
			require.NoError(t, err)
			config[key] = string(encoded)
		case []any:
			encoded, err := json.Marshal(v)
			require.NoError(t, err)
			config[key] = string(encoded)
		default:
			config[key] = fmt.Sprint(v)
		}
	}
	return config, secrets
}

func stackFiles(t *testing.T) []string {
	files, err := filepath.Glob("../Pulumi.*.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 2, "the dev stack and the example production stack")
	return files
}

func TestEveryStackFileDeploys(t *testing.T) {
	for _, file := range stackFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			config, secrets := loadStackConfig(t, file)
			deployed, err := mocks.Run(program.Run, config, secrets)
			require.NoError(t, err)
			previewed, err := mocks.RunPreview(program.Run, config, secrets)
			require.NoError(t, err)
			for _, m := range []*mocks.Mocks{deployed, previewed} {
				fleets := m.OfType("gitlab-runner-fleet:index:RunnerFleet")
				require.NotEmpty(t, fleets)
				assert.Len(t, m.OfType("kubernetes:apps/v1:StatefulSet"), len(fleets), "one StatefulSet per fleet")
			}
			assert.Len(t, previewed.All(), len(deployed.All()), "a preview registers what an update does")
		})
	}
}

func TestStackFilesHoldNoPlaintextSecret(t *testing.T) {
	for _, file := range stackFiles(t) {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		for _, marker := range []string{"glrt-", "glpat-", "GR1348941"} {
			assert.NotContains(t, string(data), marker, "%s holds a token", file)
		}
		config, secrets := loadStackConfig(t, file)
		if _, ok := config["gitlab:token"]; ok {
			assert.Contains(t, secrets, "gitlab:token", "%s: gitlab:token must be a secure value", file)
		}
	}
}

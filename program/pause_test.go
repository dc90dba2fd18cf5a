package program_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/tests/mocks"
)

// replicas 0 pauses the stack's runner in GitLab; an existing token's runner
// is left alone, with a warning saying how to pause it.
func TestNoManagerPausesTheRunnerInGitlab(t *testing.T) {
	for replicas, paused := range map[string]bool{"0": true, "2": false} {
		m, err := mocks.RunUp(noEnv.Run, baseConfig(`[{"name":"builds","runner":{"type":"group_type","groupId":1},"manager":{"replicas":`+replicas+`}}]`), nil)
		require.NoError(t, err)
		runner := m.Find("gitlab:index/userRunner:UserRunner", "builds")
		require.NotNil(t, runner)
		v, _ := mocks.Get(runner.Inputs, "paused")
		assert.Equal(t, paused, v.BoolValue(), "replicas %s", replicas)
		assert.Empty(t, warningsAbout(m, "not the stack's to pause"))
	}
	config := baseConfig(`[{"name":"existing","tokenConfigKey":"tok","manager":{"replicas":0}}]`)
	config["gitlab-runner-fleet:tok"] = "glrt-existing"
	m, err := mocks.RunUp(noEnv.Run, config, []string{"gitlab-runner-fleet:tok"})
	require.NoError(t, err)
	assert.Len(t, warningsAbout(m, "fleet existing: manager.replicas is 0, but its runner is not the stack's to pause"), 1)
}

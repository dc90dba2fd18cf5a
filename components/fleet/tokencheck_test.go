package fleet_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/entrypoint"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
	"github.com/glrf/gitlab-runner-fleet/tests/mocks"
)

// Every fleet's managers check their token (the token-check capability):
// a fleet whose runner the stack creates and one with a given token alike,
// with no setting to turn it on. The entrypoint they run holds the watch
// the variables start (its behaviour: components/entrypoint's tests, and
// tools/runnerlab's with the runner's own verify).
func TestEveryFleetsManagersCheckTheirToken(t *testing.T) {
	for name, s := range map[string]settings.FleetSettings{
		"builds":   groupFleet(),
		"external": valid(t, settings.FleetSettings{Name: "external", TokenSecret: &settings.SecretKeyRef{Name: "runner-token-from-vault"}}),
	} {
		t.Run(name, func(t *testing.T) {
			m := runFleetWith(t, s, nil)
			c := managerContainer(t, m, name)
			assert.Equal(t, "15", envOf(t, c, "TOKEN_CHECK_SECONDS"))
			assert.Equal(t, "2", envOf(t, c, "TOKEN_CHECK_FAILURES"))
			script := m.Find(tConfigMap, name+"-entrypoint")
			require.NotNil(t, script)
			assert.Equal(t, entrypoint.Script, mocks.String(script.Inputs, "data", entrypoint.FileName))
			assert.Contains(t, entrypoint.Script, `watch_token "$TOKEN_CHECK_SECONDS"`)
		})
	}
}

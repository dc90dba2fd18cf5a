package settings_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/utils/ptr"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// A fleet scaled to no manager pauses its runner in GitLab; scaled up again
// it takes jobs again, unless paused on purpose.
func TestNoManagerPausesTheRunner(t *testing.T) {
	fleet := func(replicas int, paused bool) settings.FleetSettings {
		return settings.FleetSettings{Name: "builds", Runner: settings.RunnerSettings{Type: "group_type", GroupID: 1, Paused: paused},
			Manager: settings.ManagerSettings{Replicas: ptr.To(replicas)}}.WithDefaults("test")
	}
	assert.True(t, fleet(0, false).Runner.Paused)
	assert.False(t, fleet(2, false).Runner.Paused)
	assert.True(t, fleet(2, true).Runner.Paused)
	assert.Empty(t, fleet(0, false).Validate("fleets[0]"))

	existing := settings.FleetSettings{Name: "existing", TokenConfigKey: "tok", Manager: settings.ManagerSettings{Replicas: ptr.To(0)}}.WithDefaults("test")
	assert.False(t, existing.Runner.Paused, "an existing token's runner is not the stack's to pause")
	assert.Empty(t, existing.Validate("fleets[0]"), "its runner settings stay empty")
}

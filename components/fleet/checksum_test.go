package fleet_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
	"github.com/glrf/gitlab-runner-fleet/tests/mocks"
)

// The pods roll when anything they read changes: the global config, and
// the runner template, which register merges into config.toml at start.
func TestChecksumCoversTheRunnerTemplate(t *testing.T) {
	checksum := func(s settings.FleetSettings) string {
		m := runFleet(t, false, s, nil)
		return mocks.String(m.Find(tStatefulSet, s.Name).Inputs, "spec", "template", "metadata", "annotations", "checksum/config")
	}
	base := groupFleet()
	for name, change := range map[string]func(s *settings.FleetSettings){
		"the default job image (runner template)": func(s *settings.FleetSettings) { s.Executor.Image = "alpine:3.21" },
		"the pull policy (runner template)":       func(s *settings.FleetSettings) { s.Executor.PullPolicy = []string{"if-not-present"} },
		"the jobs' environment (runner template)": func(s *settings.FleetSettings) { s.Executor.Environment = map[string]string{"A": "1"} },
		"the log level (global config)":           func(s *settings.FleetSettings) { s.Manager.LogLevel = "debug" },
	} {
		changed := groupFleet()
		change(&changed)
		assert.NotEqual(t, checksum(base), checksum(changed), "a change of %s rolls the pods", name)
	}
}

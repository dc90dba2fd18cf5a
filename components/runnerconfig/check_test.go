package runnerconfig_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/runnerconfig"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// groupFleet is a valid fleet; cases change one thing in it.
const groupFleet = `{"name":"builds","runner":{"type":"group_type","groupId":42,"tags":["docker"]}}`

// fleetWith returns the fleets setting holding groupFleet with extra JSON
// fields merged in at the top level (and one level down).
func fleetWith(t *testing.T, extra string) string {
	t.Helper()
	var base, more map[string]any
	require.NoError(t, json.Unmarshal([]byte(groupFleet), &base))
	require.NoError(t, json.Unmarshal([]byte(extra), &more))
	for k, v := range more {
		if sub, ok := v.(map[string]any); ok {
			if existing, ok := base[k].(map[string]any); ok {
				for sk, sv := range sub {
					existing[sk] = sv
				}
				continue
			}
		}
		base[k] = v
	}
	out, err := json.Marshal([]any{base})
	require.NoError(t, err)
	return string(out)
}

// checked decodes a one-fleet setting, completes it with defaults, requires
// its settings to be valid, and checks what the runner would receive.
func checked(t *testing.T, fleets string) settings.Problems {
	t.Helper()
	decoded, ps := settings.DecodeFleets(fleets)
	require.Empty(t, ps)
	require.Len(t, decoded, 1)
	s := decoded[0].WithDefaults("test")
	require.Empty(t, s.Validate("fleets[0]"), "the settings themselves are valid")
	return runnerconfig.Check(s, "fleets[0]")
}

// What the runner release would not read, or a job namespace would not
// admit, is refused before anything is created.
func TestRenderedConfigurationProblems(t *testing.T) {
	type tc struct {
		name   string
		fleets string
		want   []string
	}
	fleet := func(extra string) string { return fleetWith(t, extra) }
	cases := []tc{
		{"option newer than the runner", fleet(`{"manager":{"image":"registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v18.6.0"},"executor":{"podDisruptionBudget":true}}`),
			[]string{"fleets[0].executor: runners.kubernetes.pod_disruption_budget: config.toml key KubernetesConfig.pod_disruption_budget needs GitLab Runner 18.11 or later, but the managers run v18.6.0"}},
		{"feature flag newer than the runner", fleet(`{"manager":{"image":"registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v18.6.0"},"executor":{"featureFlags":{"FF_CONCRETE":true}}}`),
			[]string{"runners.feature_flags.FF_CONCRETE: feature flag FF_CONCRETE needs GitLab Runner 18.11 or later"}},
		{"restricted jobs that may escalate", fleet(`{"executor":{"podSecurity":"restricted","allowPrivilegeEscalation":true}}`),
			[]string{`fleets[0].executor.podSecurity: the job namespace "gitlab-runner-builds-jobs" enforces "restricted", which would reject every job pod`, "allowPrivilegeEscalation != false"}},
		{"extra config overriding the token", fleet(`{"executor":{"extraConfig":"token = \"glrt-x\""}}`), []string{"fleets[0].executor.extraConfig: token belongs to the fleet"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checked(t, c.fleets).Err()
			require.Error(t, err)
			for _, want := range c.want {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
	assert.Empty(t, checked(t, "["+groupFleet+"]"), "the default fleet renders what its runner reads, and its job pods pass")
}

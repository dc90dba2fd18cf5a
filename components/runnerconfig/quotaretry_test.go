package runnerconfig

import (
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/utils/ptr"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// The tries outlast twice the grace period the runner's delete uses, and
// 30 s more, at the runner's backoff (0.5 s, 1 s, then 2 s).
func TestQuotaRetriesOutlastTheDeletedPods(t *testing.T) {
	waited := func(tries int) float64 { return 0.5 + 1 + 2*float64(tries-3) }
	for _, c := range []struct {
		name              string
		pod, cleanup      *int
		window, wantTries int
	}{
		{"Kubernetes' default grace period", nil, nil, 90, 48},
		{"the pods' own grace period", ptr.To(60), nil, 150, 78},
		{"the cleanup's grace period wins", ptr.To(60), ptr.To(10), 50, 28},
		{"deleted at once", nil, ptr.To(0), 30, 18},
	} {
		t.Run(c.name, func(t *testing.T) {
			tries := quotaRetries(settings.ExecutorSettings{PodTerminationGracePeriodSeconds: c.pod, CleanupGracePeriodSeconds: c.cleanup})
			assert.Equal(t, c.wantTries, tries)
			assert.GreaterOrEqual(t, waited(tries), float64(c.window))
			assert.Less(t, waited(tries-1), float64(c.window), "no more tries than the window needs")
		})
	}
}

// extraConfig's retry_limits entries join the fleet's; the same key from
// extraConfig wins.
func TestExtraConfigRetryLimitsJoinTheFleets(t *testing.T) {
	s := settings.FleetSettings{Name: "x", Runner: settings.RunnerSettings{Type: "instance_type"}}.WithDefaults("test")
	extra, err := parseExtraConfig("[kubernetes.retry_limits]\n\"connection reset\" = 3\n")
	require.NoError(t, err)
	text, err := mergeExtraConfig(Runner(s), extra)
	require.NoError(t, err)
	var got struct {
		Runners []struct {
			Kubernetes struct {
				RetryLimits map[string]int `toml:"retry_limits"`
			} `toml:"kubernetes"`
		} `toml:"runners"`
	}
	_, err = toml.Decode(text, &got)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"exceeded quota": 48, "connection reset": 3}, got.Runners[0].Kubernetes.RetryLimits)

	extra, err = parseExtraConfig("[kubernetes.retry_limits]\n\"exceeded quota\" = 5\n")
	require.NoError(t, err)
	text, err = mergeExtraConfig(Runner(s), extra)
	require.NoError(t, err)
	got.Runners = nil
	_, err = toml.Decode(text, &got)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"exceeded quota": 5}, got.Runners[0].Kubernetes.RetryLimits)
}

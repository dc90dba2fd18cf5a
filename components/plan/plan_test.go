package plan_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/plan"
)

// A valid stack: every fleet defaulted, its namespaces planned.
func TestFleetsPlansAValidStack(t *testing.T) {
	plans, ps := plan.Fleets(`[{"name":"builds","runner":{"type":"group_type","groupId":42}},
		{"name":"docs","namespace":"gitlab-runner-builds","jobNamespace":"docs-jobs","runner":{"type":"group_type","groupId":42}}]`, "prod")
	require.Empty(t, ps)
	require.Len(t, plans, 2)
	assert.Equal(t, "builds (prod)", plans[0].Settings.Runner.Description, "defaults use the stack's name")
	assert.Len(t, plans[0].Create, 2, "builds creates its managers' and its jobs' namespaces")
	assert.Len(t, plans[1].Create, 1, "docs creates its jobs' namespace")
	assert.Equal(t, map[string]int{"gitlab-runner-builds": 0}, plans[1].SharedFrom, "docs shares the managers' namespace of builds")
	require.NotNil(t, plans[0].Jobs)
	require.NotNil(t, plans[1].Jobs, "docs has a job namespace of its own")
}

// Every layer's problems come out of the one entry point at once: the
// decoder's, the settings', the rendered configuration's and those across
// fleets; and the fleets are still there for further checks.
func TestFleetsReportsEveryLayersProblemsAtOnce(t *testing.T) {
	plans, ps := plan.Fleets(`[
		{"name":"a","runner":{"type":"instance_type"},"manager":{"replica":3}},
		{"name":"b","runner":{"type":"instance_type"},"manager":{"logLevel":"loud"},"executor":{"extraConfig":"token = \"glrt-x\""}},
		{"name":"a","runner":{"type":"instance_type"}}]`, "prod")
	require.Len(t, plans, 3)
	err := ps.Err()
	require.Error(t, err)
	for _, want := range []string{
		`fleets[0] (a).manager.replica: unknown setting (did you mean "replicas"?)`,
		`fleets[1] (b).manager.logLevel: "loud" is not allowed`,
		"fleets[1] (b).executor.extraConfig: token belongs to the fleet",
		`fleets[2] (a).name: "a" is already the name of fleets[0]`,
	} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestCheckIsBothLayersOfOneFleet(t *testing.T) {
	plans, ps := plan.Fleets(`[{"name":"a","runner":{"type":"instance_type"}}]`, "prod")
	require.Empty(t, ps)
	s := plans[0].Settings
	assert.Empty(t, plan.Check(s, "fleets[0]"))
	s.Executor.ExtraConfig = "[kubernetes]\nprivileged = true"
	s.Manager.Concurrent = 0
	err := plan.Check(s, "fleets[0]").Err()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "fleets[0].manager.concurrent: must be between 1 and 1000")
	assert.Contains(t, err.Error(), "fleets[0].executor.extraConfig: kubernetes.privileged belongs to the fleet")
}

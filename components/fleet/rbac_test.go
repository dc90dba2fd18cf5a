package fleet_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/glrf/gitlab-runner-fleet/components/fleet"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

func rule(group, res string, verbs ...string) fleet.PolicyRule {
	return fleet.PolicyRule{APIGroup: group, Resources: []string{res}, Verbs: verbs}
}

// The expected rule sets are written out from the runner's documented
// permission table, one option combination per row.
func TestRoleRules(t *testing.T) {
	yes, no := true, false
	cases := []struct {
		name     string
		executor settings.ExecutorSettings
		want     []fleet.PolicyRule
	}{{
		name:     "defaults: attach strategy, informers, warning events",
		executor: settings.FleetSettings{Name: "d", Runner: settings.RunnerSettings{Type: "instance_type"}}.WithDefaults("t").Executor,
		want: []fleet.PolicyRule{
			rule("", "events", "list"),
			rule("", "pods", "create", "delete", "get", "list", "watch"),
			rule("", "pods/attach", "create", "delete", "get", "patch"),
			rule("", "pods/exec", "create", "delete", "get", "patch"),
			rule("", "pods/log", "get", "list"),
			rule("", "secrets", "create", "delete", "get", "update"),
			rule("", "serviceaccounts", "get"),
			rule("", "services", "create", "get"),
		},
	}, {
		name: "minimal: legacy execution, no informers, no events",
		executor: settings.ExecutorSettings{UseInformers: &no, PrintPodWarningEvents: &no,
			FeatureFlags: map[string]bool{"FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY": true}},
		want: []fleet.PolicyRule{
			rule("", "pods", "create", "delete", "get"),
			rule("", "pods/exec", "create", "delete", "get", "patch"),
			rule("", "secrets", "create", "delete", "get", "update"),
			rule("", "serviceaccounts", "get"),
			rule("", "services", "create", "get"),
		},
	}, {
		name: "legacy execution with honor entrypoint",
		executor: settings.ExecutorSettings{UseInformers: &no, PrintPodWarningEvents: &no,
			FeatureFlags: map[string]bool{"FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY": true, "FF_KUBERNETES_HONOR_ENTRYPOINT": true}},
		want: []fleet.PolicyRule{
			rule("", "pods", "create", "delete", "get", "watch"),
			rule("", "pods/exec", "create", "delete", "get", "patch"),
			rule("", "pods/log", "get", "list"),
			rule("", "secrets", "create", "delete", "get", "update"),
			rule("", "serviceaccounts", "get"),
			rule("", "services", "create", "get"),
		},
	}, {
		name: "legacy execution waiting for reachable pods",
		executor: settings.ExecutorSettings{UseInformers: &no, PrintPodWarningEvents: &no,
			FeatureFlags: map[string]bool{"FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY": true, "FF_WAIT_FOR_POD_TO_BE_REACHABLE": true}},
		want: []fleet.PolicyRule{
			rule("", "pods", "create", "delete", "get"),
			rule("", "pods/exec", "create", "delete", "get", "patch"),
			rule("", "pods/log", "get"),
			rule("", "secrets", "create", "delete", "get", "update"),
			rule("", "serviceaccounts", "get"),
			rule("", "services", "create", "get"),
		},
	}, {
		name: "pod events and job PodDisruptionBudgets",
		executor: settings.ExecutorSettings{UseInformers: &yes, PrintPodWarningEvents: &yes, PodDisruptionBudget: true,
			FeatureFlags: map[string]bool{"FF_PRINT_POD_EVENTS": true}},
		want: []fleet.PolicyRule{
			rule("", "events", "list", "watch"),
			rule("", "pods", "create", "delete", "get", "list", "watch"),
			rule("", "pods/attach", "create", "delete", "get", "patch"),
			rule("", "pods/exec", "create", "delete", "get", "patch"),
			rule("", "pods/log", "get", "list"),
			rule("", "secrets", "create", "delete", "get", "update"),
			rule("", "serviceaccounts", "get"),
			rule("", "services", "create", "get"),
			rule("policy", "poddisruptionbudgets", "create", "get"),
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := fleet.RoleRules(c.executor)
			assert.Equal(t, c.want, got)
			for _, r := range got {
				assert.NotContains(t, r.Verbs, "*")
				assert.NotContains(t, r.Resources, "*")
				assert.NotEqual(t, "*", r.APIGroup)
			}
		})
	}
}

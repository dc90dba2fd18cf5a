package runnerconfig

import (
	"maps"
	"slices"

	"github.com/glrf/gitlab-runner-fleet/components/runnerversion"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// PolicyRule is one RBAC rule: verbs on resources of one API group.
type PolicyRule struct {
	APIGroup  string
	Resources []string
	Verbs     []string
}

// RoleRules are the rules the managers of a [[runners]] entry need in their
// job namespace: the API calls GitLab Runner's Kubernetes executor can make
// with this entry, as its source annotates each call (`// kubeAPI:` in
// executors/kubernetes; tools/runnerlab checks these rules against every
// annotation), and the runner's "Configure runner API permissions" table
// documents them. No wildcard ever; sorted by group and resource, each
// rule's verbs sorted.
//
// A feature flag the entry sets is as set; one it leaves unset is the job's
// choice (the runner takes it from the job's variables), so both its values
// count, where release v has the flag. PinnedFeatureFlags are always set;
// only FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY is left to jobs, and its
// exec strategy needs a subset of what the attach strategy does.
// useInformers grants list and watch on pods: the runner asks
// (SelfSubjectAccessReview) and watches pods only if it may.
func RoleRules(r RunnerConfig, v runnerversion.Version, useInformers bool) []PolicyRule {
	// can reports whether a job of this entry can run with flag on.
	can := func(flag string, on bool) bool {
		if value, set := r.FeatureFlags[flag]; set {
			return value == on
		}
		known, _ := runnerversion.FlagAvailable(flag, v)
		return known || !on
	}
	k := r.Kubernetes
	attach := can(runnerversion.FFLegacyExecution, false)
	honorEntrypoint := can(runnerversion.FFHonorEntrypoint, true)
	warningEvents := k.PrintPodWarningEvents == nil || *k.PrintPodWarningEvents

	verbs := map[string][]string{
		"pods":            {"create", "delete", "get"},
		"pods/exec":       {"create", "delete", "get", "patch"},
		"secrets":         {"create", "delete", "get", "update"},
		"serviceaccounts": {"get"},
		"services":        {"create", "get"},
	}
	grant := func(on bool, resource string, vs ...string) {
		if on {
			verbs[resource] = append(verbs[resource], vs...)
		}
	}
	grant(useInformers, "pods", "list", "watch")
	grant(attach || honorEntrypoint, "pods", "watch")
	grant(attach, "pods/attach", "create", "delete", "get", "patch")
	grant(attach || honorEntrypoint || can(runnerversion.FFWaitReachable, true) || can(runnerversion.FFConcrete, true), "pods/log", "get")
	grant(attach || honorEntrypoint, "pods/log", "list")
	grant(warningEvents, "events", "list")
	grant(can(runnerversion.FFPrintPodEvents, true), "events", "watch")

	var rules []PolicyRule
	for _, resource := range slices.Sorted(maps.Keys(verbs)) {
		rules = append(rules, PolicyRule{Resources: []string{resource}, Verbs: slices.Compact(slices.Sorted(slices.Values(verbs[resource])))})
	}
	if k.PodDisruptionBudget {
		rules = append(rules, PolicyRule{APIGroup: "policy", Resources: []string{"poddisruptionbudgets"}, Verbs: []string{"create", "get"}})
	}
	return rules
}

// FleetRoleRules are RoleRules for a (checked) fleet's final entry.
func FleetRoleRules(s settings.FleetSettings) ([]PolicyRule, error) {
	r, err := FinalEntry(s)
	if err != nil {
		return nil, err
	}
	return RoleRules(r, s.RunnerVersion(), s.Executor.UseInformers == nil || *s.Executor.UseInformers), nil
}

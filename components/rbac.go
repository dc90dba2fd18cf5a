package components

import "slices"

// The Role granted to the runner manager in the job namespace: exactly the
// rules GitLab Runner documents for the Kubernetes executor ("Configure runner
// API permissions"), with option-dependent verbs only when the option is on.
// No wildcard, ever.

// PolicyRule is one RBAC rule: verbs on resources of one API group.
type PolicyRule struct {
	APIGroup  string
	Resources []string
	Verbs     []string
}

// Feature flags that change what the executor calls.
const (
	ffLegacyExecution = "FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY"
	ffHonorEntrypoint = "FF_KUBERNETES_HONOR_ENTRYPOINT"
	ffPrintPodEvents  = "FF_PRINT_POD_EVENTS"
	ffWaitReachable   = "FF_WAIT_FOR_POD_TO_BE_REACHABLE"
	ffConcrete        = "FF_CONCRETE"
)

// RoleRules returns the rules the executor needs with the given settings,
// sorted by group and resource, each rule's verbs sorted.
func RoleRules(e ExecutorSettings) []PolicyRule {
	ff := func(name string) bool { return e.FeatureFlags[name] }
	// The attach strategy is the default; the legacy exec-only one needs no attach.
	attach := !ff(ffLegacyExecution)
	informers := e.UseInformers == nil || *e.UseInformers
	warningEvents := e.PrintPodWarningEvents != nil && *e.PrintPodWarningEvents

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
	grant(informers, "pods", "list", "watch")
	grant(attach || ff(ffHonorEntrypoint), "pods", "watch")
	grant(attach, "pods/attach", "create", "delete", "get", "patch")
	grant(attach || ff(ffHonorEntrypoint) || ff(ffWaitReachable) || ff(ffConcrete), "pods/log", "get")
	grant(attach || ff(ffHonorEntrypoint), "pods/log", "list")
	grant(warningEvents, "events", "list")
	grant(ff(ffPrintPodEvents), "events", "watch")

	var rules []PolicyRule
	for _, resource := range sortedKeys(verbs) {
		rules = append(rules, PolicyRule{Resources: []string{resource}, Verbs: sortedUnique(verbs[resource])})
	}
	if e.PodDisruptionBudget {
		rules = append(rules, PolicyRule{APIGroup: "policy", Resources: []string{"poddisruptionbudgets"}, Verbs: []string{"create", "get"}})
	}
	return rules
}

func sortedUnique(values []string) []string {
	out := slices.Clone(values)
	slices.Sort(out)
	return slices.Compact(out)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

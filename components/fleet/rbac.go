package fleet

import (
	"maps"
	"slices"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/glrf/gitlab-runner-fleet/components/runnerversion"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// PolicyRule is one RBAC rule: verbs on resources of one API group.
type PolicyRule struct {
	APIGroup  string
	Resources []string
	Verbs     []string
}

// RoleRules returns the rules the runner manager is granted in the job
// namespace: exactly the rules GitLab Runner documents for the Kubernetes
// executor ("Configure runner API permissions") with the given settings,
// option-dependent verbs only when the option is on, no wildcard ever;
// sorted by group and resource, each rule's verbs sorted.
//
// One option is a job's, not the fleet's: a job may set FF_PRINT_POD_EVENTS
// in its variables, and the runner then watches its pod's events (without
// the verb the job fails before its script runs). Events in the job
// namespace are read-only and tell nothing the manager cannot already read
// there (its pods), so watching them is always granted.
func RoleRules(e settings.ExecutorSettings) []PolicyRule {
	ff := func(name string) bool { return e.FeatureFlags[name] }
	// The attach strategy is the default; the legacy exec-only one needs no attach.
	attach := !ff(runnerversion.FFLegacyExecution)
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
	grant(attach || ff(runnerversion.FFHonorEntrypoint), "pods", "watch")
	grant(attach, "pods/attach", "create", "delete", "get", "patch")
	grant(attach || ff(runnerversion.FFHonorEntrypoint) || ff(runnerversion.FFWaitReachable) || ff(runnerversion.FFConcrete), "pods/log", "get")
	grant(attach || ff(runnerversion.FFHonorEntrypoint), "pods/log", "list")
	grant(warningEvents, "events", "list")
	grant(true, "events", "watch") // FF_PRINT_POD_EVENTS, which jobs set too

	var rules []PolicyRule
	for _, resource := range slices.Sorted(maps.Keys(verbs)) {
		rules = append(rules, PolicyRule{Resources: []string{resource}, Verbs: sortedUnique(verbs[resource])})
	}
	if e.PodDisruptionBudget {
		rules = append(rules, PolicyRule{APIGroup: "policy", Resources: []string{"poddisruptionbudgets"}, Verbs: []string{"create", "get"}})
	}
	return rules
}

// sortedUnique is values sorted, without repeats.
func sortedUnique(values []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(values)))
}

// newExecutorRBAC grants the managers' ServiceAccount the executor's rules in
// the job namespace.
func newExecutorRBAC(b *build, sa *corev1.ServiceAccount) (*rbacv1.Role, *rbacv1.RoleBinding, error) {
	ctx, s, jobNamespace, namespace, parent := b.ctx, b.s, b.jobNamespace, b.namespace, b.parent
	var rules rbacv1.PolicyRuleArray
	for _, r := range RoleRules(s.Executor) {
		rules = append(rules, &rbacv1.PolicyRuleArgs{
			ApiGroups: pulumi.ToStringArray([]string{r.APIGroup}),
			Resources: pulumi.ToStringArray(r.Resources),
			Verbs:     pulumi.ToStringArray(r.Verbs),
		})
	}
	name := s.Name + "-executor"
	role, err := rbacv1.NewRole(ctx, name, &rbacv1.RoleArgs{
		Metadata: objectMeta(s, name, jobNamespace),
		Rules:    rules,
	}, parent)
	if err != nil {
		return nil, nil, err
	}
	binding, err := rbacv1.NewRoleBinding(ctx, name, &rbacv1.RoleBindingArgs{
		Metadata: objectMeta(s, name, jobNamespace),
		RoleRef: &rbacv1.RoleRefArgs{
			ApiGroup: pulumi.String("rbac.authorization.k8s.io"),
			Kind:     pulumi.String("Role"),
			Name:     role.Metadata.Name().Elem(),
		},
		Subjects: rbacv1.SubjectArray{&rbacv1.SubjectArgs{
			Kind:      pulumi.String("ServiceAccount"),
			Name:      sa.Metadata.Name().Elem(),
			Namespace: namespace,
		}},
	}, parent)
	if err != nil {
		return nil, nil, err
	}
	return role, binding, nil
}

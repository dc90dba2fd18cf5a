package fleet

import (
	"slices"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/glrf/gitlab-runner-fleet/components/runnerconfig"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// PolicyRule is one RBAC rule (runnerconfig.PolicyRule).
type PolicyRule = runnerconfig.PolicyRule

// RoleRules are the rules a fleet with these executor settings (and the
// newest runner release) grants its managers: runnerconfig.RoleRules of the
// [[runners]] entry they render.
func RoleRules(e settings.ExecutorSettings) []PolicyRule {
	s := settings.FleetSettings{Executor: e, Manager: settings.ManagerSettings{Image: settings.DefaultManagerImage}}
	return runnerconfig.RoleRules(runnerconfig.Runner(s), s.RunnerVersion(), e.UseInformers == nil || *e.UseInformers)
}

// sortedUnique is values sorted, without repeats.
func sortedUnique(values []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(values)))
}

// newExecutorRBAC grants the managers' ServiceAccount the executor's rules in
// the job namespace.
func newExecutorRBAC(b *build, sa *corev1.ServiceAccount) (*rbacv1.Role, *rbacv1.RoleBinding, error) {
	ctx, s, jobNamespace, namespace, parent := b.ctx, b.s, b.jobNamespace, b.namespace, b.parent
	roleRules, err := runnerconfig.FleetRoleRules(s)
	if err != nil {
		return nil, nil, err
	}
	var rules rbacv1.PolicyRuleArray
	for _, r := range roleRules {
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

package fleet

import (
	"fmt"
	"strings"

	admissionv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/admissionregistration/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// admissionPolicy narrows what a compromised manager can do, though its Role
// would allow it.
//
// The runner needs to create Secrets, pods and Services in its job
// namespace, and RBAC cannot narrow those by content. Without more, a manager
// (or whoever holds its token) could there: mint a non-expiring token for any
// ServiceAccount (a Secret of type kubernetes.io/service-account-token, then
// read it), run pods as any ServiceAccount, and create LoadBalancer or
// NodePort Services or Services with externalIPs (the traffic interception
// of CVE-2020-8554). A ValidatingAdmissionPolicy per fleet refuses exactly
// these, for requests of that fleet's manager ServiceAccount in that job
// namespace only, so nothing else in the cluster is affected:
//
//   - Secrets of type kubernetes.io/service-account-token;
//   - pods whose ServiceAccount is not the one configured for jobs
//     (executor.serviceAccount, else the namespace's default);
//   - Services of a type other than ClusterIP, or with externalIPs.
//
// The runner's own requests (job pods, their Secrets for variables and
// registry credentials, ClusterIP Services for service aliases) pass.
func admissionPolicy(b *build) (podPart, error) {
	policy, err := admissionv1.NewValidatingAdmissionPolicy(b.ctx, b.s.Name+"-manager-requests", admissionPolicyArgs(b.s), b.parent)
	if err != nil {
		return podPart{}, err
	}
	_, err = admissionv1.NewValidatingAdmissionPolicyBinding(b.ctx, b.s.Name+"-manager-requests",
		admissionBindingArgs(b.s, policy.Metadata.Name().Elem()), b.parent)
	return podPart{}, err
}

func init() { addCapability("admission", admissionPolicy) }

// admissionPolicyName names a fleet's policy and binding (cluster-scoped).
func admissionPolicyName(s settings.FleetSettings) string {
	return fmt.Sprintf("gitlab-runner-fleet.%s.%s", s.JobNamespace, s.Name)
}

// managerUser is the user name of the managers' ServiceAccount in requests.
func managerUser(s settings.FleetSettings) string {
	return fmt.Sprintf("system:serviceaccount:%s:%s", s.Namespace, s.Name)
}

// jobPodServiceAccount is the ServiceAccount job pods run as.
func jobPodServiceAccount(e settings.ExecutorSettings) string {
	if e.ServiceAccount != "" {
		return e.ServiceAccount
	}
	return "default"
}

func admissionPolicyArgs(s settings.FleetSettings) *admissionv1.ValidatingAdmissionPolicyArgs {
	validation := func(expression, message string) *admissionv1.ValidationArgs {
		return &admissionv1.ValidationArgs{Expression: pulumi.String(expression), Message: pulumi.String(message), Reason: pulumi.String("Forbidden")}
	}
	accounts := append([]string{jobPodServiceAccount(s.Executor)}, s.Executor.Overwrite.ServiceAccounts...)
	quoted := make([]string, len(accounts))
	for i, a := range accounts {
		quoted[i] = fmt.Sprintf("%q", a)
	}
	return &admissionv1.ValidatingAdmissionPolicyArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(admissionPolicyName(s)), Labels: pulumi.ToStringMap(Labels(s))},
		Spec: &admissionv1.ValidatingAdmissionPolicySpecArgs{
			FailurePolicy: pulumi.String("Fail"),
			MatchConstraints: &admissionv1.MatchResourcesArgs{
				NamespaceSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{namespaceNameLabel: pulumi.String(s.JobNamespace)}},
				ResourceRules: admissionv1.NamedRuleWithOperationsArray{&admissionv1.NamedRuleWithOperationsArgs{
					ApiGroups:   pulumi.ToStringArray([]string{""}),
					ApiVersions: pulumi.ToStringArray([]string{"v1"}),
					Operations:  pulumi.ToStringArray([]string{"CREATE", "UPDATE"}),
					Resources:   pulumi.ToStringArray([]string{"pods", "secrets", "services"}),
				}},
			},
			MatchConditions: admissionv1.MatchConditionArray{&admissionv1.MatchConditionArgs{
				Name:       pulumi.String("the-runner-manager"),
				Expression: pulumi.String(fmt.Sprintf("request.userInfo.username == %q", managerUser(s))),
			}},
			Validations: admissionv1.ValidationArray{
				validation(`request.resource.resource != "secrets" || !has(object.type) || object.type != "kubernetes.io/service-account-token"`,
					"a runner manager may not create ServiceAccount token Secrets"),
				validation(fmt.Sprintf(`request.resource.resource != "pods" || (has(object.spec.serviceAccountName) ? object.spec.serviceAccountName : "default") in [%s]`, strings.Join(quoted, ", ")),
					fmt.Sprintf("job pods run as the ServiceAccount %s only", strings.Join(quoted, " or "))),
				validation(`request.resource.resource != "services" || ((!has(object.spec.type) || object.spec.type == "ClusterIP") && (!has(object.spec.externalIPs) || size(object.spec.externalIPs) == 0))`,
					"a runner manager may create ClusterIP Services without externalIPs only"),
			},
		},
	}
}

func admissionBindingArgs(s settings.FleetSettings, policy pulumi.StringInput) *admissionv1.ValidatingAdmissionPolicyBindingArgs {
	return &admissionv1.ValidatingAdmissionPolicyBindingArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(admissionPolicyName(s)), Labels: pulumi.ToStringMap(Labels(s))},
		Spec: &admissionv1.ValidatingAdmissionPolicyBindingSpecArgs{
			PolicyName:        policy,
			ValidationActions: pulumi.ToStringArray([]string{"Deny"}),
		},
	}
}

package fleet

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	admissionv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/admissionregistration/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// admissionPolicies narrow what a compromised manager can do, though its
// Role would allow it.
//
// The runner needs to create Secrets, pods and Services in its job
// namespace, and RBAC cannot narrow those by content. Without more, a
// manager (or whoever holds its token) could there: mint a token for any
// ServiceAccount, or for any audience through a pod's fields, and read it
// with pods/exec; put a pod on any node (nodeName, a toleration for every
// taint) or give it a system priority that preempts anything; pull an image
// with a policy the fleet forbids (another project's private image cached on
// the node); replace the stack's own Secrets; create LoadBalancer or
// NodePort Services or Services with externalIPs (the traffic interception
// of CVE-2020-8554).
//
// One ValidatingAdmissionPolicy per kind (pods, Secrets, Services), each
// bound to requests of that fleet's manager ServiceAccount in that job
// namespace only, so nothing else in the cluster is affected. One kind per
// policy keeps each expression type-checked against the one schema it
// reads: the API server then reports no warning (status.typeChecking), and a
// later mistake in an expression shows there. The runner's own requests
// (the job pods it builds from the fleet's configuration, their Secrets for
// registry credentials, ClusterIP Services for service proxies) pass.
func admissionPolicies(b *build) (podPart, error) {
	for _, p := range managerPolicies(b.s) {
		policy, err := admissionv1.NewValidatingAdmissionPolicy(b.ctx, b.s.Name+"-manager-"+p.resource, p.args, b.parent)
		if err != nil {
			return podPart{}, err
		}
		if _, err := admissionv1.NewValidatingAdmissionPolicyBinding(b.ctx, b.s.Name+"-manager-"+p.resource,
			admissionBindingArgs(b.s, p.resource, policy.Metadata.Name().Elem()), b.parent); err != nil {
			return podPart{}, err
		}
	}
	return podPart{}, nil
}

func init() { addCapability("admission", admissionPolicies) }

// StackLabel marks the objects the stack creates (Labels): the admission
// policy keeps managers from replacing or deleting Secrets that carry it.
const (
	StackLabel      = "app.kubernetes.io/part-of"
	StackLabelValue = "gitlab-runner-fleet"
)

// admissionPolicyName names a fleet's policy and binding for one resource
// (cluster-scoped objects).
func admissionPolicyName(s settings.FleetSettings, resource string) string {
	return fmt.Sprintf("gitlab-runner-fleet.%s.%s.%s", s.JobNamespace, s.Name, resource)
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

// managerPolicy is one policy of a fleet: the resource it guards and its spec.
type managerPolicy struct {
	resource string
	args     *admissionv1.ValidatingAdmissionPolicyArgs
}

// validation is one rule of a policy: an expression that must hold, and the
// message of the refusal when it does not.
type validation struct{ expression, message string }

func managerPolicies(s settings.FleetSettings) []managerPolicy {
	return []managerPolicy{
		policyFor(s, "pods", []string{"CREATE", "UPDATE"}, podValidations(s)),
		policyFor(s, "secrets", []string{"CREATE", "UPDATE", "DELETE"}, secretValidations()),
		policyFor(s, "services", []string{"CREATE", "UPDATE"}, serviceValidations()),
	}
}

// policyFor is a policy on one core resource, for the fleet's manager in its
// job namespace. The namespace is matched by the name label the API server
// sets on every namespace, which no one can set to another value.
func policyFor(s settings.FleetSettings, resource string, operations []string, rules []validation) managerPolicy {
	var validations admissionv1.ValidationArray
	for _, r := range rules {
		validations = append(validations, &admissionv1.ValidationArgs{
			Expression: pulumi.String(r.expression), Message: pulumi.String(r.message), Reason: pulumi.String("Forbidden"),
		})
	}
	return managerPolicy{resource: resource, args: &admissionv1.ValidatingAdmissionPolicyArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(admissionPolicyName(s, resource)), Labels: pulumi.ToStringMap(Labels(s))},
		Spec: &admissionv1.ValidatingAdmissionPolicySpecArgs{
			FailurePolicy: pulumi.String("Fail"),
			MatchConstraints: &admissionv1.MatchResourcesArgs{
				NamespaceSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{namespaceNameLabel: pulumi.String(s.JobNamespace)}},
				ResourceRules: admissionv1.NamedRuleWithOperationsArray{&admissionv1.NamedRuleWithOperationsArgs{
					ApiGroups:   pulumi.ToStringArray([]string{""}),
					ApiVersions: pulumi.ToStringArray([]string{"v1"}),
					Operations:  pulumi.ToStringArray(operations),
					Resources:   pulumi.ToStringArray([]string{resource}),
				}},
			},
			MatchConditions: admissionv1.MatchConditionArray{&admissionv1.MatchConditionArgs{
				Name:       pulumi.String("the-runner-manager"),
				Expression: pulumi.String("request.userInfo.username == " + celString(managerUser(s))),
			}},
			Validations: validations,
		},
	}}
}

func admissionBindingArgs(s settings.FleetSettings, resource string, policy pulumi.StringInput) *admissionv1.ValidatingAdmissionPolicyBindingArgs {
	return &admissionv1.ValidatingAdmissionPolicyBindingArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(admissionPolicyName(s, resource)), Labels: pulumi.ToStringMap(Labels(s))},
		Spec: &admissionv1.ValidatingAdmissionPolicyBindingSpecArgs{
			PolicyName:        policy,
			ValidationActions: pulumi.ToStringArray([]string{"Deny"}),
		},
	}
}

// secretValidations: no ServiceAccount token Secrets (the token controller
// would fill one with a token that never expires), and the stack's own
// Secrets (registry credentials, of any fleet sharing the namespace) are
// neither replaced nor deleted, nor imitated. The runner's own Secrets (a
// job's registry credentials, which it creates, updates with the job pod as
// owner, and deletes) carry no such label.
func secretValidations() []validation {
	stackLabelled := func(obj string) string {
		return fmt.Sprintf("(has(%[1]s.metadata.labels) && %[2]s in %[1]s.metadata.labels && %[1]s.metadata.labels[%[2]s] == %[3]s)",
			obj, celString(StackLabel), celString(StackLabelValue))
	}
	return []validation{
		{`request.operation == "DELETE" || !has(object.type) || object.type != "kubernetes.io/service-account-token"`,
			"a runner manager may not create ServiceAccount token Secrets"},
		{`request.operation == "CREATE" || !` + stackLabelled("oldObject"),
			fmt.Sprintf("a runner manager may not replace or delete the stack's Secrets (label %s=%s)", StackLabel, StackLabelValue)},
		{`request.operation == "DELETE" || !` + stackLabelled("object"),
			fmt.Sprintf("a runner manager may not label a Secret as the stack's (%s=%s)", StackLabel, StackLabelValue)},
	}
}

// serviceValidations: ClusterIP Services without externalIPs only.
func serviceValidations() []validation {
	return []validation{
		{`(!has(object.spec.type) || object.spec.type == "ClusterIP") && (!has(object.spec.externalIPs) || size(object.spec.externalIPs) == 0)`,
			"a runner manager may create ClusterIP Services without externalIPs only"},
	}
}

// defaultTolerations are added to every pod by the API server's
// DefaultTolerationSeconds admission plugin (an unhealthy node evicts it
// after a while); they let a pod on no node it could not be scheduled on.
var defaultTolerations = []string{"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}

// apiServerTokenSeconds is the life of the token the ServiceAccount
// admission plugin projects into pods that mount one (3607 s, renewed by the
// kubelet).
const apiServerTokenSeconds = 3607

// podValidations fence the fields of a job pod a manager could abuse; each
// allows exactly what the runner builds from the fleet's settings.
func podValidations(s settings.FleetSettings) []validation {
	e := s.Executor
	accounts := append([]string{jobPodServiceAccount(e)}, e.Overwrite.ServiceAccounts...)
	tokenNeeded := e.ServiceAccount != "" // the runner then mounts its token (automount_service_account_token)
	rules := []validation{
		{fmt.Sprintf(`(has(object.spec.serviceAccountName) ? object.spec.serviceAccountName : "default") in %s`, celList(accounts)),
			fmt.Sprintf("job pods run as the ServiceAccount %s only", strings.Join(quoteAll(accounts), " or "))},
	}
	// Tokens through pod fields: the automount flag (the ServiceAccount
	// admission plugin then projects a token volume, which the next rule
	// sees too), and projected token sources of any audience and life.
	if tokenNeeded {
		rules = append(rules, validation{
			fmt.Sprintf(`!has(object.spec.volumes) || object.spec.volumes.all(v, !has(v.projected) || !has(v.projected.sources) || v.projected.sources.all(p, !has(p.serviceAccountToken) || ((!has(p.serviceAccountToken.audience) || p.serviceAccountToken.audience == "") && has(p.serviceAccountToken.expirationSeconds) && p.serviceAccountToken.expirationSeconds <= %d)))`, apiServerTokenSeconds),
			fmt.Sprintf("job pods may mount only the API server's own ServiceAccount token (no audience, at most %d s), as automountServiceAccountToken projects it", apiServerTokenSeconds),
		})
	} else {
		rules = append(rules,
			validation{`!has(object.spec.automountServiceAccountToken) || !object.spec.automountServiceAccountToken`,
				"job pods mount no ServiceAccount token (automountServiceAccountToken must not be true; executor.serviceAccount gives jobs an identity on purpose)"},
			validation{`!has(object.spec.volumes) || object.spec.volumes.all(v, !has(v.projected) || !has(v.projected.sources) || v.projected.sources.all(p, !has(p.serviceAccountToken)))`,
				"job pods may not project a ServiceAccount token (of any audience)"},
		)
	}
	rules = append(rules,
		validation{`!has(object.spec.volumes) || object.spec.volumes.all(v, !has(v.projected) || !has(v.projected.sources) || v.projected.sources.all(p, !has(p.podCertificate) && !has(p.clusterTrustBundle)))`,
			"job pods may not project pod certificates or cluster trust bundles"},
		ephemeralValidation(e),
	)
	rules = append(rules, placementValidations(e)...)
	rules = append(rules, pullPolicyValidation(e))
	return rules
}

// ephemeralValidation allows the generic ephemeral volumes the fleet's pod
// spec patches add, by name, storage class and at most their size, and no
// other: each makes the cluster create a PersistentVolumeClaim of the size
// the pod asks for.
func ephemeralValidation(e settings.ExecutorSettings) validation {
	volumes, _ := e.EphemeralVolumes() // validated
	if len(volumes) == 0 {
		return validation{`!has(object.spec.volumes) || object.spec.volumes.all(v, !has(v.ephemeral))`,
			"job pods may not have generic ephemeral volumes (each makes the cluster create a PersistentVolumeClaim of any size); executor.podSpecPatches configures them"}
	}
	// The API server's schema of resources.requests has no type (a
	// quantity is a string or a number), so the type checker would find no
	// field requests and warn: it is read as dyn, as at run time.
	const spec = "v.ephemeral.volumeClaimTemplate.spec"
	var allowed, described []string
	for _, v := range volumes {
		allowed = append(allowed, fmt.Sprintf(`(v.name == %[2]s && has(v.ephemeral.volumeClaimTemplate) && `+
			`(has(%[1]s.storageClassName) ? %[1]s.storageClassName : "") == %[3]s && `+
			`has(%[1]s.resources) && has(dyn(%[1]s.resources).requests) && "storage" in dyn(%[1]s.resources).requests && `+
			`quantity(string(dyn(%[1]s.resources).requests["storage"])).compareTo(quantity(%[4]s)) <= 0)`,
			spec, celString(v.Name), celString(v.StorageClass), celString(v.Size.String())))
		class := v.StorageClass
		if class == "" {
			class = "the default class"
		}
		described = append(described, fmt.Sprintf("%s of at most %s in %s", v.Name, v.Size.String(), class))
	}
	return validation{
		`!has(object.spec.volumes) || object.spec.volumes.all(v, !has(v.ephemeral) || ` + strings.Join(allowed, " || ") + ")",
		fmt.Sprintf("job pods have only the fleet's generic ephemeral volumes (executor.podSpecPatches: %s)", strings.Join(described, ", ")),
	}
}

// placementValidations keep job pods where the fleet puts them: through the
// scheduler (no nodeName), with its node selector, node affinity and
// tolerations only (the dedicated pool of a privileged fleet), its
// scheduler and its priority class.
func placementValidations(e settings.ExecutorSettings) []validation {
	rules := []validation{
		{`!has(object.spec.nodeName) || object.spec.nodeName == ""`,
			"job pods are placed by the scheduler: nodeName may not be set"},
		{tolerationsExpression(e.Tolerations),
			fmt.Sprintf("job pods tolerate only the fleet's taints (executor.tolerations: %s)", tolerationsText(e.Tolerations))},
	}
	if len(e.NodeSelector) == 0 {
		rules = append(rules, validation{`!has(object.spec.nodeSelector) || size(object.spec.nodeSelector) == 0`,
			"job pods select no nodes (executor.nodeSelector is empty)"})
	} else {
		rules = append(rules, validation{"has(object.spec.nodeSelector) && object.spec.nodeSelector == " + celMap(e.NodeSelector),
			fmt.Sprintf("job pods select exactly the fleet's nodes (executor.nodeSelector: %s)", mapText(e.NodeSelector))})
	}
	if len(e.NodeAffinity) > 0 {
		var wanted []string
		for _, r := range e.NodeAffinity {
			values := `(!has(x.values) || size(x.values) == 0)`
			if len(r.Values) > 0 {
				values = "has(x.values) && x.values == " + celList(r.Values)
			}
			wanted = append(wanted, fmt.Sprintf(`t.matchExpressions.exists(x, x.key == %s && x.operator == %s && %s)`,
				celString(r.Key), celString(r.Operator), values))
		}
		rules = append(rules, validation{
			`has(object.spec.affinity) && has(object.spec.affinity.nodeAffinity) && has(object.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution) && ` +
				`object.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.all(t, has(t.matchExpressions) && ` + strings.Join(wanted, " && ") + ")",
			"job pods keep the fleet's required node affinity (executor.nodeAffinity)"})
	}
	scheduler := e.SchedulerName
	if scheduler == "" {
		scheduler = "default-scheduler" // the API server's default
	}
	rules = append(rules, validation{`!has(object.spec.schedulerName) || object.spec.schedulerName == ` + celString(scheduler),
		fmt.Sprintf("job pods are scheduled by %s only (executor.schedulerName)", scheduler)})
	if e.PriorityClassName == "" {
		rules = append(rules, validation{`!has(object.spec.priorityClassName) || object.spec.priorityClassName == ""`,
			"job pods have no priority class (executor.priorityClassName is empty)"})
	} else {
		rules = append(rules, validation{`has(object.spec.priorityClassName) && object.spec.priorityClassName == ` + celString(e.PriorityClassName),
			fmt.Sprintf("job pods have the priority class %s only (executor.priorityClassName)", e.PriorityClassName)})
	}
	return rules
}

// tolerationsExpression allows each toleration the runner renders from
// executor.tolerations (key=value with Equal, key alone with Exists, the
// effect as set, no tolerationSeconds) and the API server's defaults.
func tolerationsExpression(tolerations []settings.Toleration) string {
	field := func(name, fallback string) string {
		return fmt.Sprintf(`(has(t.%[1]s) ? t.%[1]s : %[2]s)`, name, celString(fallback))
	}
	allowed := []string{fmt.Sprintf(`(%s in %s && %s == "Exists" && %s == "NoExecute")`,
		field("key", ""), celList(defaultTolerations), field("operator", "Equal"), field("effect", ""))}
	for _, t := range tolerations {
		operator, value := "Exists", ""
		if t.Operator != "Exists" {
			operator, value = "Equal", t.Value
		}
		allowed = append(allowed, fmt.Sprintf(`(%s == %s && %s == %s && %s == %s && %s == %s && !has(t.tolerationSeconds))`,
			field("key", ""), celString(t.Key), field("operator", "Equal"), celString(operator),
			field("value", ""), celString(value), field("effect", ""), celString(t.Effect)))
	}
	return `!has(object.spec.tolerations) || object.spec.tolerations.all(t, ` + strings.Join(allowed, " || ") + ")"
}

// pullPolicies maps the runner's pull policies to the Kubernetes ones it
// sets on job containers.
var pullPolicies = map[string]string{"never": "Never", "if-not-present": "IfNotPresent", "always": "Always"}

// KubernetesPullPolicies are the imagePullPolicy values of the fleet's
// allowed pull policies (executor.pullPolicy), sorted.
func KubernetesPullPolicies(e settings.ExecutorSettings) []string {
	var out []string
	for _, p := range e.PullPolicy {
		out = append(out, pullPolicies[p])
	}
	return sortedUnique(out)
}

// pullPolicyValidation holds every container, init containers too, to the
// fleet's pull policies: the runner sets the policy on each container it
// builds (the configured one, or one the job asks for among the allowed).
func pullPolicyValidation(e settings.ExecutorSettings) validation {
	allowed := celList(KubernetesPullPolicies(e))
	return validation{
		fmt.Sprintf(`object.spec.containers.all(c, has(c.imagePullPolicy) && c.imagePullPolicy in %[1]s) && (!has(object.spec.initContainers) || object.spec.initContainers.all(c, has(c.imagePullPolicy) && c.imagePullPolicy in %[1]s))`, allowed),
		fmt.Sprintf("every container of a job pod pulls with the fleet's pull policies only (executor.pullPolicy: %s)", strings.Join(e.PullPolicy, ", ")),
	}
}

// celString is a CEL string literal.
func celString(s string) string { return strconv.Quote(s) }

// celList is a CEL list literal of strings.
func celList(values []string) string { return "[" + strings.Join(quoteAll(values), ", ") + "]" }

// celMap is a CEL map literal of strings, keys sorted.
func celMap(m map[string]string) string {
	var entries []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		entries = append(entries, celString(k)+": "+celString(m[k]))
	}
	return "{" + strings.Join(entries, ", ") + "}"
}

func quoteAll(values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = celString(v)
	}
	return out
}

func mapText(m map[string]string) string {
	var entries []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		entries = append(entries, k+"="+m[k])
	}
	return strings.Join(entries, ", ")
}

func tolerationsText(tolerations []settings.Toleration) string {
	if len(tolerations) == 0 {
		return "none"
	}
	var out []string
	for _, t := range tolerations {
		text := t.Key
		if t.Operator != "Exists" {
			text += "=" + t.Value
		}
		out = append(out, text+":"+t.Effect)
	}
	return strings.Join(out, ", ")
}

// Package components holds the RunnerFleet component resource: one GitLab
// runner and the Kubernetes objects that run its managers.
package components

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	admissionv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/admissionregistration/v1"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/pulumi/pulumi-gitlab/sdk/v8/go/gitlab"
)

// RunnerFleetType is the component's type token.
const RunnerFleetType = "gitlab-runner-fleet:index:RunnerFleet"

// RunnerFleetArgs are the inputs of a RunnerFleet.
type RunnerFleetArgs struct {
	// Settings of the fleet, completed by WithDefaults and checked by Validate.
	Settings FleetSettings
	// GitlabURL is the address the runner managers use to reach GitLab.
	GitlabURL string
	// Token is an existing runner authentication token, required when
	// Settings.TokenConfigKey is set (and then no runner is created in GitLab).
	Token pulumi.StringInput
	// ConfigValues are the stack settings the fleet reads, by name
	// (FleetSettings.ConfigValues lists them): cache keys, a CA bundle,
	// registry credentials.
	ConfigValues map[string]pulumi.StringOutput
	// CreateNamespaces are the namespaces this fleet creates.
	CreateNamespaces []NamespaceSpec
	// SharedNamespaces are namespaces created elsewhere in the stack (by
	// another fleet), by name; using their outputs orders creation and deletion.
	SharedNamespaces map[string]pulumi.StringInput
	// Now is the clock token rotation reads (time.Now when nil).
	Now func() time.Time
	// Jobs, when set, makes this fleet create its job namespace's own
	// objects (NetworkPolicy, ResourceQuota, LimitRange, default
	// ServiceAccount); PlanFleets sets it for one fleet per job namespace.
	Jobs *JobNamespacePlan
	// APIServer is where the cluster's API server listens (DiscoverAPIServer),
	// for the NetworkPolicies; required unless network.policies is off.
	APIServer APIServer
}

// NamespaceSpec is a namespace to create and the Pod Security level it enforces.
type NamespaceSpec struct {
	Name        string
	PodSecurity string
	// ResourceName is the Namespace's logical name in the stack (default:
	// Name). PlanFleets sets "<cluster>/<name>" for a named cluster, so that
	// fleets of several clusters may use the same namespace names.
	ResourceName string
}

// RunnerFleet is a GitLab runner and the StatefulSet of managers serving it.
type RunnerFleet struct {
	pulumi.ResourceState

	// Namespace of the runner managers.
	Namespace pulumi.StringOutput `pulumi:"namespace"`
	// JobNamespace where job pods run.
	JobNamespace pulumi.StringOutput `pulumi:"jobNamespace"`
	// StatefulSetName of the runner managers.
	StatefulSetName pulumi.StringOutput `pulumi:"statefulSetName"`
	// RunnerID is the runner's id in GitLab; empty for an existing token.
	RunnerID pulumi.StringOutput `pulumi:"runnerId"`
	// TokenRotatesAfter is when the next rotation period begins (RFC 3339);
	// empty without runner.rotateEvery.
	TokenRotatesAfter pulumi.StringOutput `pulumi:"tokenRotatesAfter"`

	// Namespaces this fleet created, by name, for fleets that share them.
	Namespaces map[string]pulumi.StringOutput
}

// NewRunnerFleet registers a fleet and all its children.
func NewRunnerFleet(ctx *pulumi.Context, name string, args *RunnerFleetArgs, opts ...pulumi.ResourceOption) (*RunnerFleet, error) {
	fleet := &RunnerFleet{Namespaces: map[string]pulumi.StringOutput{}}
	if err := ctx.RegisterComponentResource(RunnerFleetType, name, fleet, opts...); err != nil {
		return nil, err
	}
	s := args.Settings

	// The runner comes first: when GitLab refuses it (no such group, not its
	// owner), nothing is created in Kubernetes. Every Kubernetes child waits
	// for it (and so, on destroy, the runner goes last).
	token, runnerID, runner, err := runnerToken(ctx, args, pulumi.Parent(fleet))
	if err != nil {
		return nil, err
	}
	var parent pulumi.ResourceOption = pulumi.Parent(fleet)
	if runner != nil {
		parent = pulumi.Composite(parent, pulumi.DependsOn([]pulumi.Resource{runner}))
	}

	if err := fleet.createNamespaces(ctx, args.CreateNamespaces, parent); err != nil {
		return nil, err
	}
	namespace := fleet.namespaceInput(args, s.Namespace)
	jobNamespace := fleet.namespaceInput(args, s.JobNamespace)

	saMeta := objectMeta(s, s.Name, namespace)
	saMeta.Annotations = pulumi.ToStringMap(s.Manager.ServiceAccountAnnotations)
	serviceAccount, err := corev1.NewServiceAccount(ctx, s.Name, &corev1.ServiceAccountArgs{
		Metadata:                     saMeta,
		AutomountServiceAccountToken: pulumi.Bool(true),
	}, parent)
	if err != nil {
		return nil, err
	}
	role, binding, err := newExecutorRBAC(ctx, s, jobNamespace, namespace, serviceAccount, parent)
	if err != nil {
		return nil, err
	}

	inputs, err := newPodInputs(ctx, args, token, namespace, jobNamespace, parent)
	if err != nil {
		return nil, err
	}
	config, entrypoint, configChecksum, err := newRunnerConfigMaps(ctx, s, namespace, parent)
	if err != nil {
		return nil, err
	}

	service, err := corev1.NewService(ctx, s.Name, headlessServiceArgs(s, namespace), parent)
	if err != nil {
		return nil, err
	}
	statefulSet, err := appsv1.NewStatefulSet(ctx, s.Name, statefulSetArgs(s, workloadInputs{
		Namespace:          namespace,
		ServiceAccountName: serviceAccount.Metadata.Name().Elem(),
		ConfigMapName:      config.Metadata.Name().Elem(),
		EntrypointName:     entrypoint.Metadata.Name().Elem(),
		Pod:                inputs,
		ConfigChecksum:     pulumi.String(configChecksum),
		GitlabURL:          args.GitlabURL,
	}),
		parent,
		// Pods go before their permissions on destroy, so draining jobs keep
		// them; the delete waits for the drain (see DeleteTimeout).
		pulumi.DependsOn([]pulumi.Resource{serviceAccount, role, binding, service}),
		pulumi.Timeouts(&pulumi.CustomTimeouts{Delete: DeleteTimeout(s.Manager)}),
	)
	if err != nil {
		return nil, err
	}
	if _, err := policyv1.NewPodDisruptionBudget(ctx, s.Name, podDisruptionBudgetArgs(s, namespace), parent); err != nil {
		return nil, err
	}
	if err := newContainment(ctx, args, namespace, jobNamespace, parent); err != nil {
		return nil, err
	}
	if s.Manager.Monitoring.Kind != "" {
		if _, err := apiextensions.NewCustomResource(ctx, s.Name+"-monitor", monitorArgs(s, namespace), parent); err != nil {
			return nil, err
		}
	}

	fleet.Namespace = namespace.ToStringOutput()
	fleet.JobNamespace = jobNamespace.ToStringOutput()
	fleet.StatefulSetName = statefulSet.Metadata.Name().Elem()
	fleet.RunnerID = runnerID
	fleet.TokenRotatesAfter = pulumi.String("").ToStringOutput()
	if period, ok := s.Runner.rotationPeriod(); ok && s.ManagesRunner() {
		fleet.TokenRotatesAfter = pulumi.String(NextRotation(args.now(), period).Format(time.RFC3339)).ToStringOutput()
	}
	return fleet, ctx.RegisterResourceOutputs(fleet, pulumi.Map{
		"namespace":         fleet.Namespace,
		"jobNamespace":      fleet.JobNamespace,
		"statefulSetName":   fleet.StatefulSetName,
		"runnerId":          fleet.RunnerID,
		"tokenRotatesAfter": fleet.TokenRotatesAfter,
	})
}

// newContainment creates what keeps jobs and a compromised manager in
// bounds: the admission policy of the manager's requests, the managers'
// NetworkPolicy, and (for one fleet per job namespace) the job namespace's
// NetworkPolicy, quota, limits and token-less default ServiceAccount.
func newContainment(ctx *pulumi.Context, args *RunnerFleetArgs, namespace, jobNamespace pulumi.StringInput, parent pulumi.ResourceOption) error {
	s := args.Settings
	policy, err := admissionv1.NewValidatingAdmissionPolicy(ctx, s.Name+"-manager-requests", admissionPolicyArgs(s), parent)
	if err != nil {
		return err
	}
	if _, err := admissionv1.NewValidatingAdmissionPolicyBinding(ctx, s.Name+"-manager-requests",
		admissionBindingArgs(s, policy.Metadata.Name().Elem()), parent); err != nil {
		return err
	}
	if s.Network.PoliciesOn() {
		if args.APIServer.CIDRs == nil {
			return fmt.Errorf("fleet %q: NetworkPolicies need the API server's addresses (RunnerFleetArgs.APIServer)", s.Name)
		}
		if _, err := networkingv1.NewNetworkPolicy(ctx, s.Name+"-manager", managerPolicyArgs(s, namespace, args.GitlabURL, args.APIServer), parent); err != nil {
			return err
		}
	}
	j := args.Jobs
	if j == nil {
		return nil
	}
	if _, err := corev1.NewServiceAccountPatch(ctx, s.Name+"-jobs-default-sa", &corev1.ServiceAccountPatchArgs{
		Metadata:                     &metav1.ObjectMetaPatchArgs{Name: pulumi.String("default"), Namespace: jobNamespace},
		AutomountServiceAccountToken: pulumi.Bool(false),
	}, parent); err != nil {
		return err
	}
	if j.Policies {
		if _, err := networkingv1.NewNetworkPolicy(ctx, s.Name+"-jobs", jobNamespacePolicyArgs(jobNamespace, *j, args.APIServer), parent); err != nil {
			return err
		}
	}
	if j.QuotaOn {
		if _, err := corev1.NewResourceQuota(ctx, s.Name+"-jobs", resourceQuotaArgs(jobNamespace, *j), parent); err != nil {
			return err
		}
		if _, err := corev1.NewLimitRange(ctx, s.Name+"-jobs", limitRangeArgs(jobNamespace, *j), parent); err != nil {
			return err
		}
	}
	return nil
}

// createNamespaces creates the fleet's own namespaces, each enforcing its Pod
// Security level, and records them for fleets that share them.
func (f *RunnerFleet) createNamespaces(ctx *pulumi.Context, specs []NamespaceSpec, parent pulumi.ResourceOption) error {
	for _, ns := range specs {
		labels := mergeMaps(podSecurityLabels(ns.PodSecurity), map[string]string{"app.kubernetes.io/managed-by": "pulumi"})
		resourceName := ns.Name
		if ns.ResourceName != "" {
			resourceName = ns.ResourceName
		}
		created, err := corev1.NewNamespace(ctx, resourceName, &corev1.NamespaceArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(ns.Name), Labels: pulumi.ToStringMap(labels)},
		}, parent)
		if err != nil {
			return err
		}
		f.Namespaces[ns.Name] = created.Metadata.Name().Elem()
	}
	return nil
}

// newRunnerConfigMaps holds the rendered runner configuration and the
// entrypoint, and returns the checksum that rolls the pods when either changes.
func newRunnerConfigMaps(ctx *pulumi.Context, s FleetSettings, namespace pulumi.StringInput,
	parent pulumi.ResourceOption) (*corev1.ConfigMap, *corev1.ConfigMap, string, error) {
	globalConfig, err := RenderGlobalConfig(s.Manager)
	if err != nil {
		return nil, nil, "", err
	}
	runnerTemplate, err := RenderRunnerTemplate(s)
	if err != nil {
		return nil, nil, "", err
	}
	config, err := corev1.NewConfigMap(ctx, s.Name+"-config", &corev1.ConfigMapArgs{
		Metadata: autoNamedMeta(s, namespace),
		Data:     pulumi.StringMap{"config.toml": pulumi.String(globalConfig), "runner-template.toml": pulumi.String(runnerTemplate)},
	}, parent)
	if err != nil {
		return nil, nil, "", err
	}
	entrypoint, err := corev1.NewConfigMap(ctx, s.Name+"-entrypoint", &corev1.ConfigMapArgs{
		Metadata: autoNamedMeta(s, namespace),
		Data:     pulumi.StringMap{"entrypoint.sh": pulumi.String(EntrypointScript)},
	}, parent)
	if err != nil {
		return nil, nil, "", err
	}
	return config, entrypoint, checksum(globalConfig, runnerTemplate, EntrypointScript), nil
}

// namespaceInput resolves a namespace name: created here, created by another
// fleet, or existing outside the stack.
func (f *RunnerFleet) namespaceInput(args *RunnerFleetArgs, name string) pulumi.StringInput {
	if out, ok := f.Namespaces[name]; ok {
		return out
	}
	if in, ok := args.SharedNamespaces[name]; ok {
		return in
	}
	return pulumi.String(name)
}

func (args *RunnerFleetArgs) now() time.Time {
	if args.Now != nil {
		return args.Now()
	}
	return time.Now()
}

// runnerToken creates the runner in GitLab, or takes the existing token, and
// returns the token (always secret), the runner id and the runner (nil for
// an existing token).
func runnerToken(ctx *pulumi.Context, fleetArgs *RunnerFleetArgs, parent pulumi.ResourceOption) (pulumi.StringOutput, pulumi.StringOutput, pulumi.Resource, error) {
	s, existing := fleetArgs.Settings, fleetArgs.Token
	if s.TokenSecret != nil {
		// The token lives in an existing Secret the pods mount directly.
		return pulumi.StringOutput{}, pulumi.String("").ToStringOutput(), nil, nil
	}
	if !s.ManagesRunner() {
		if existing == nil {
			return pulumi.StringOutput{}, pulumi.StringOutput{}, nil, fmt.Errorf("fleet %q: tokenConfigKey %q is set but no Token was given", s.Name, s.TokenConfigKey)
		}
		return pulumi.ToSecret(existing).(pulumi.StringOutput), pulumi.String("").ToStringOutput(), nil, nil
	}
	r := s.Runner
	args := &gitlab.UserRunnerArgs{
		RunnerType:      pulumi.String(r.Type),
		Description:     pulumi.String(r.Description),
		TagLists:        pulumi.ToStringArray(r.Tags),
		Untagged:        pulumi.Bool(*r.Untagged),
		Locked:          pulumi.Bool(r.Locked),
		Paused:          pulumi.Bool(r.Paused),
		AccessLevel:     pulumi.String(r.AccessLevel),
		MaintenanceNote: pulumi.String(r.MaintenanceNote),
	}
	if r.GroupID != 0 {
		args.GroupId = pulumi.Int(r.GroupID)
	}
	if r.ProjectID != 0 {
		args.ProjectId = pulumi.Int(r.ProjectID)
	}
	if r.MaximumTimeout != 0 {
		args.MaximumTimeout = pulumi.Int(r.MaximumTimeout)
	}
	opts := []pulumi.ResourceOption{parent}
	if period, ok := r.rotationPeriod(); ok {
		// A new period replaces the runner: new runner and token first, the
		// pods roll to them, the old runner is deleted last (rotation.go).
		opts = append(opts, pulumi.ReplacementTrigger(pulumi.String(fmt.Sprint(RotationWindow(fleetArgs.now(), period)))))
	}
	runner, err := gitlab.NewUserRunner(ctx, s.Name, args, opts...)
	if err != nil {
		return pulumi.StringOutput{}, pulumi.StringOutput{}, nil, err
	}
	// The token is secret in the provider's schema and in AdditionalSecretOutputs.
	return runner.Token, runner.ID().ToStringOutput(), runner, nil
}

// newExecutorRBAC grants the managers' ServiceAccount the executor's rules in
// the job namespace.
func newExecutorRBAC(ctx *pulumi.Context, s FleetSettings, jobNamespace, namespace pulumi.StringInput,
	sa *corev1.ServiceAccount, parent pulumi.ResourceOption) (*rbacv1.Role, *rbacv1.RoleBinding, error) {
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

// autoNamedMeta leaves the name to Pulumi (<logical name>-<suffix>): a change
// of content then creates the new object before the StatefulSet switches to it
// and deletes the old one, so running pods never lose their mounts.
func autoNamedMeta(s FleetSettings, namespace pulumi.StringInput) *metav1.ObjectMetaArgs {
	return &metav1.ObjectMetaArgs{Namespace: namespace, Labels: pulumi.ToStringMap(Labels(s))}
}

func checksum(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

func mergeMaps(maps ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

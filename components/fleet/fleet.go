package fleet

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"time"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/glrf/gitlab-runner-fleet/components/entrypoint"
	"github.com/glrf/gitlab-runner-fleet/components/runnerconfig"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// RunnerFleetType is the component's type token.
const RunnerFleetType = "gitlab-runner-fleet:index:RunnerFleet"

// RunnerFleetArgs are the inputs of a RunnerFleet.
//
// Another program builds a fleet from Settings as a stack file holds them
// (docs/configuration.md), plus where GitLab and the API server are:
// NewRunnerFleet completes the settings with their defaults, checks them
// with the program's own checks and plans the fleet alone, and registers
// nothing unless all of that passes. A program that plans several fleets
// together (plan.Fleets) passes each fleet's part of that plan as Stack.
type RunnerFleetArgs struct {
	// Settings of the fleet. Name defaults to the resource's name.
	Settings settings.FleetSettings
	// GroupID is the runner's group when another resource makes it (a
	// gitlab.Group's id): it stands for Settings.Runner.GroupID, which must
	// then be 0. A value that is known is checked like the setting;
	// otherwise it is checked once known.
	GroupID pulumi.IntInput
	// ProjectID is the runner's project when another resource makes it
	// (a gitlab.Project's id), in place of Settings.Runner.ProjectID.
	ProjectID pulumi.IntInput
	// CacheBucket is the distributed cache's bucket when another resource
	// makes it (a bucket, a MinIO tenant...): it stands for
	// cache.s3.bucketName, cache.gcs.bucketName or cache.azure.containerName,
	// by cache.type, which must then be empty. The configuration is rendered
	// once it is known.
	CacheBucket pulumi.StringInput
	// GitlabURL is the address the runner managers use to reach GitLab
	// (https://, http:// only on loopback; without api/v4).
	GitlabURL string
	// Token is an existing runner authentication token, required when
	// Settings.TokenConfigKey is set (and then no runner is created in GitLab).
	Token pulumi.StringInput
	// ConfigValues are the values of the stack settings the fleet names, by
	// name (settings.FleetSettings.ConfigValues lists them): cache keys, a
	// CA bundle, registry credentials, the token of TokenConfigKey.
	ConfigValues map[string]pulumi.StringOutput
	// Now is the clock token rotation reads (time.Now when nil).
	Now func() time.Time
	// APIServer is where the cluster's API server listens, for the
	// NetworkPolicies. When it is unset and the policies are on, the fleet
	// reads it from the cluster (DiscoverAPIServer), as the program does.
	APIServer APIServer
	// Stack is this fleet's part of a plan of several fleets
	// (plan.Fleets): the namespaces it creates or shares and its job
	// namespace's objects. Nil: the fleet plans itself, alone.
	Stack *StackPart
}

// StackPart is a fleet's part of the plan of a stack's fleets.
type StackPart struct {
	// CreateNamespaces are the namespaces this fleet creates.
	CreateNamespaces []settings.NamespaceSpec
	// SharedNamespaces are namespaces created elsewhere in the stack (by
	// another fleet), by name; using their outputs orders creation and deletion.
	SharedNamespaces map[string]pulumi.StringInput
	// Jobs, when set, makes this fleet create its job namespace's own
	// objects (NetworkPolicy, ResourceQuota, LimitRange, default
	// ServiceAccount); settings.PlanFleets sets it for one fleet per job
	// namespace.
	Jobs *settings.JobNamespacePlan
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

// Outputs are the component's outputs by name, as it registers them.
func (f *RunnerFleet) Outputs() pulumi.Map {
	return pulumi.Map{
		"namespace":         f.Namespace,
		"jobNamespace":      f.JobNamespace,
		"statefulSetName":   f.StatefulSetName,
		"runnerId":          f.RunnerID,
		"tokenRotatesAfter": f.TokenRotatesAfter,
	}
}

// NewRunnerFleet registers a fleet and all its children: the runner and its
// token first (token.go), then the core objects (namespaces, ServiceAccount,
// RBAC), every capability (capability.go), and the workload that uses them
// (configuration and entrypoint ConfigMaps, Service, StatefulSet,
// PodDisruptionBudget).
//
// It first completes and checks its arguments (args.go): it returns an
// error listing every problem, and registers nothing, when they are invalid.
func NewRunnerFleet(ctx *pulumi.Context, name string, given *RunnerFleetArgs, opts ...pulumi.ResourceOption) (*RunnerFleet, error) {
	args, err := given.prepare(ctx.Stack(), name)
	if err != nil {
		return nil, err
	}
	fleet := &RunnerFleet{Namespaces: map[string]pulumi.StringOutput{}}
	if err := ctx.RegisterComponentResource(RunnerFleetType, name, fleet, opts...); err != nil {
		return nil, err
	}
	s := args.Settings
	if args.discoverAPIServer {
		// Read with the fleet's own provider: a child of the fleet.
		if args.APIServer, err = DiscoverAPIServer(ctx, s.Name+"-api-server", pulumi.Parent(fleet)); err != nil {
			return nil, err
		}
	}

	// The runner comes first: when GitLab refuses it (no such group, not its
	// owner), nothing is created in Kubernetes. Every Kubernetes child waits
	// for it (and so, on destroy, the runner goes last).
	token, err := newRunnerToken(ctx, args, pulumi.Parent(fleet))
	if err != nil {
		return nil, err
	}
	var parent pulumi.ResourceOption = pulumi.Parent(fleet)
	if runners := token.runners(); len(runners) > 0 {
		parent = pulumi.Composite(parent, pulumi.DependsOn(runners))
	}

	if err := fleet.createNamespaces(ctx, args.Stack.CreateNamespaces, parent); err != nil {
		return nil, err
	}
	b := &build{ctx: ctx, args: args, s: s, parent: parent,
		namespace: fleet.namespaceInput(args, s.Namespace), jobNamespace: fleet.namespaceInput(args, s.JobNamespace)}

	saMeta := objectMeta(s, s.Name, b.namespace)
	saMeta.Annotations = pulumi.ToStringMap(s.Manager.ServiceAccountAnnotations)
	serviceAccount, err := corev1.NewServiceAccount(ctx, s.Name, &corev1.ServiceAccountArgs{
		Metadata:                     saMeta,
		AutomountServiceAccountToken: pulumi.Bool(true),
	}, parent)
	if err != nil {
		return nil, err
	}
	role, binding, err := newExecutorRBAC(b, serviceAccount)
	if err != nil {
		return nil, err
	}
	tokenSecret, err := token.secret(b)
	if err != nil {
		return nil, err
	}
	pod, err := runCapabilities(b)
	if err != nil {
		return nil, err
	}

	config, entrypointMap, configChecksum, err := newRunnerConfigMaps(b)
	if err != nil {
		return nil, err
	}
	service, err := corev1.NewService(ctx, s.Name, headlessServiceArgs(s, b.namespace), parent)
	if err != nil {
		return nil, err
	}
	statefulSet, err := appsv1.NewStatefulSet(ctx, s.Name, statefulSetArgs(s, workloadInputs{
		Namespace:          b.namespace,
		ServiceAccountName: serviceAccount.Metadata.Name().Elem(),
		ConfigMapName:      config.Metadata.Name().Elem(),
		EntrypointName:     entrypointMap.Metadata.Name().Elem(),
		Token:              tokenSecret,
		Pod:                pod,
		ConfigChecksum:     configChecksum,
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
	if _, err := policyv1.NewPodDisruptionBudget(ctx, s.Name, podDisruptionBudgetArgs(s, b.namespace), parent); err != nil {
		return nil, err
	}

	fleet.Namespace = b.namespace.ToStringOutput()
	fleet.JobNamespace = b.jobNamespace.ToStringOutput()
	fleet.StatefulSetName = statefulSet.Metadata.Name().Elem()
	fleet.RunnerID = token.runnerID
	fleet.TokenRotatesAfter = pulumi.String("").ToStringOutput()
	if period, ok := s.Runner.RotationPeriod(); ok && s.ManagesRunner() {
		fleet.TokenRotatesAfter = pulumi.String(settings.NextRotation(args.now(), period).Format(time.RFC3339)).ToStringOutput()
	}
	return fleet, ctx.RegisterResourceOutputs(fleet, fleet.Outputs())
}

// createNamespaces creates the fleet's own namespaces, each enforcing its Pod
// Security level, and records them for fleets that share them.
func (f *RunnerFleet) createNamespaces(ctx *pulumi.Context, specs []settings.NamespaceSpec, parent pulumi.ResourceOption) error {
	for _, ns := range specs {
		labels := podSecurityLabels(ns.PodSecurity)
		labels["app.kubernetes.io/managed-by"] = "pulumi"
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

// podSecurityLabels enforce a Pod Security Standard level on a namespace.
// Audit and warn use the same level: a stricter one would flag every job pod
// the namespace rightly admits (runnerconfig builds them for this level).
func podSecurityLabels(level string) map[string]string {
	return map[string]string{
		"pod-security.kubernetes.io/enforce": level,
		"pod-security.kubernetes.io/audit":   level,
		"pod-security.kubernetes.io/warn":    level,
	}
}

// newRunnerConfigMaps holds the rendered runner configuration and the
// entrypoint, and returns the checksum that rolls the pods when either
// changes. With the cache's bucket given as an input, the runner template
// is rendered once the bucket is known.
func newRunnerConfigMaps(b *build) (*corev1.ConfigMap, *corev1.ConfigMap, pulumi.StringInput, error) {
	s := b.s
	globalConfig, err := runnerconfig.RenderGlobalConfig(s.Manager)
	if err != nil {
		return nil, nil, nil, err
	}
	var runnerTemplate pulumi.StringOutput
	if b.args.CacheBucket != nil {
		runnerTemplate = b.args.CacheBucket.ToStringOutput().ApplyT(func(bucket string) (string, error) {
			return renderWithBucket(s, bucket)
		}).(pulumi.StringOutput)
	} else {
		rendered, err := runnerconfig.RenderRunnerTemplate(s)
		if err != nil {
			return nil, nil, nil, err
		}
		runnerTemplate = pulumi.String(rendered).ToStringOutput()
	}
	config, err := corev1.NewConfigMap(b.ctx, s.Name+"-config", &corev1.ConfigMapArgs{
		Metadata: autoNamedMeta(s, b.namespace),
		Data:     pulumi.StringMap{"config.toml": pulumi.String(globalConfig), "runner-template.toml": runnerTemplate},
	}, b.parent)
	if err != nil {
		return nil, nil, nil, err
	}
	script, err := corev1.NewConfigMap(b.ctx, s.Name+"-entrypoint", &corev1.ConfigMapArgs{
		Metadata: autoNamedMeta(s, b.namespace),
		Data:     pulumi.StringMap{entrypoint.FileName: pulumi.String(entrypoint.Script)},
	}, b.parent)
	if err != nil {
		return nil, nil, nil, err
	}
	sum := runnerTemplate.ApplyT(func(template string) string {
		return checksum(globalConfig, template, entrypoint.Script)
	}).(pulumi.StringOutput)
	return config, script, sum, nil
}

// namespaceInput resolves a namespace name: created here, created by another
// fleet, or existing outside the stack.
func (f *RunnerFleet) namespaceInput(args *preparedArgs, name string) pulumi.StringInput {
	if out, ok := f.Namespaces[name]; ok {
		return out
	}
	if in, ok := args.Stack.SharedNamespaces[name]; ok {
		return in
	}
	return pulumi.String(name)
}

func (args *preparedArgs) now() time.Time {
	if args.Now != nil {
		return args.Now()
	}
	return time.Now()
}

func checksum(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// merged is the union of maps, later ones winning.
func merged(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		maps.Copy(out, m)
	}
	return out
}

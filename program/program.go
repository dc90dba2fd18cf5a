// Package program is the Pulumi program: it reads the stack's settings,
// validates all of them, and creates one RunnerFleet per fleet. main.go runs
// it with pulumi.Run; tests and the local driver run the very same function
// through mocks or the Automation API.
package program

import (
	"context"
	"fmt"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
	"k8s.io/client-go/kubernetes"

	"github.com/glrf/gitlab-runner-fleet/components/fleet"
	"github.com/glrf/gitlab-runner-fleet/components/plan"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// Project is the Pulumi project name, the namespace of its stack settings.
const Project = "gitlab-runner-fleet"

// Stack settings read by the program (besides the providers' own gitlab:* and kubernetes:*).
const (
	fleetsKey    = "fleets"
	gitlabURLKey = "gitlabUrl"
	apiServerKey = "apiServer"
)

// Stack is the validated configuration of a stack.
type Stack struct {
	// GitlabURL is the address runner managers use to reach GitLab.
	GitlabURL string
	Plans     []settings.FleetPlan
	// Tokens are existing runner tokens by fleet name (secret outputs).
	Tokens map[string]pulumi.StringOutput
	// Values are the stack settings each fleet names, by fleet and key.
	Values map[string]map[string]pulumi.StringOutput
	// APIServer is the apiServer setting, when given.
	APIServer *settings.APIServerSetting
	// Clusters are the named clusters (clusters.go); fleets without a
	// cluster run in the default provider's.
	Clusters map[string]*Cluster
}

// Options change how the program reaches the world; the zero value is what
// `pulumi up` runs.
type Options struct {
	// Kube connects to a cluster to report the managers' rollout (default:
	// KubeAccess.Client).
	Kube func(KubeAccess) (kubernetes.Interface, error)
	// Now is the clock token rotation reads (default: time.Now).
	Now func() time.Time
}

// Run is the program. Nothing is registered unless every setting is valid.
func Run(ctx *pulumi.Context) error { return Options{}.Run(ctx) }

// Run is the program with these options.
func (o Options) Run(ctx *pulumi.Context) error {
	if o.Kube == nil {
		o.Kube = KubeAccess.Client
	}
	stack, err := Load(ctx)
	if err != nil {
		return err
	}
	access := KubeAccess{Kubeconfig: config.Get(ctx, "kubernetes:kubeconfig"), Context: config.Get(ctx, "kubernetes:context")}
	targets, err := stack.targets(ctx, access)
	if err != nil {
		return err
	}
	if err := o.checkPrerequisites(ctx, stack, targets); err != nil {
		return err
	}
	fleets := make([]*fleet.RunnerFleet, len(stack.Plans))
	outputs := pulumi.Map{}
	for i, p := range stack.Plans {
		target := targets[p.Settings.Cluster]
		shared := map[string]pulumi.StringInput{}
		for ns, owner := range p.SharedFrom {
			shared[ns] = fleets[owner].Namespaces[ns]
		}
		args := &fleet.RunnerFleetArgs{
			Settings:     p.Settings,
			GitlabURL:    stack.GitlabURL,
			Stack:        &fleet.StackPart{CreateNamespaces: p.Create, SharedNamespaces: shared, Jobs: p.Jobs},
			Now:          o.Now,
			APIServer:    target.apiServer,
			ConfigValues: stack.Values[p.Settings.Name],
		}
		if token, ok := stack.Tokens[p.Settings.Name]; ok {
			args.Token = token
		}
		f, err := fleet.NewRunnerFleet(ctx, p.Settings.Name, args, target.options()...)
		if err != nil {
			return err
		}
		fleets[i] = f
		output := f.Outputs()
		output["rollout"] = o.reportRollout(ctx, target, f, p.Settings)
		if p.Settings.Cluster != "" {
			output["cluster"] = pulumi.String(p.Settings.Cluster)
		}
		outputs[p.Settings.Name] = output
	}
	ctx.Export("fleets", outputs)
	return nil
}

// reportRollout reads (and with manager.rolloutTimeout, waits for) the
// managers' rollout once `up` has applied the StatefulSet, and logs it. It
// never fails `up` (see rollout.go).
//
// A preview reads the rollout as it stands, once, without waiting or
// logging: so a preview that changes nothing shows the same output as the
// `up` before it (the rollout it recorded, when it has not moved since),
// rather than an output that changes on every preview. A fleet whose
// managers do not exist yet shows "".
func (o Options) reportRollout(ctx *pulumi.Context, target clusterTarget, f *fleet.RunnerFleet, s settings.FleetSettings) pulumi.StringOutput {
	return pulumi.All(f.Namespace, f.StatefulSetName).ApplyT(func(v []any) string {
		namespace, name := v[0].(string), v[1].(string)
		if ctx.DryRun() {
			return previewRollout(o.Kube, target, namespace, name)
		}
		log := func(r Rollout) {
			_ = ctx.Log.Info(fmt.Sprintf("fleet %s: rollout %s", s.Name, r), &pulumi.LogArgs{Resource: f})
		}
		client, err := o.Kube(target.access)
		if err != nil {
			message := redact(err.Error(), target.secrets)
			_ = ctx.Log.Warn(fmt.Sprintf("fleet %s: cannot read the rollout: %s", s.Name, message), &pulumi.LogArgs{Resource: f})
			return "unknown: " + message
		}
		timeout := time.Duration(s.Manager.RolloutTimeout) * time.Second
		r, err := WaitRollout(context.Background(), client, namespace, name, timeout, log)
		if err != nil {
			message := redact(err.Error(), target.secrets)
			_ = ctx.Log.Warn(fmt.Sprintf("fleet %s: cannot read the rollout: %s", s.Name, message), &pulumi.LogArgs{Resource: f})
			return "unknown: " + message
		}
		if !r.Complete {
			_ = ctx.Log.Info(fmt.Sprintf("fleet %s: `up` is done; the managers go on rolling in the cluster: kubectl rollout status statefulset/%s -n %s", s.Name, name, namespace),
				&pulumi.LogArgs{Resource: f})
		}
		return r.String()
	}).(pulumi.StringOutput)
}

// previewRollout is the rollout a preview shows: read once, "" when it
// cannot be read (a fleet not created yet, a cluster out of reach: the
// preview's own steps report those).
func previewRollout(kube func(KubeAccess) (kubernetes.Interface, error), target clusterTarget, namespace, name string) string {
	client, err := kube(target.access)
	if err != nil {
		return ""
	}
	r, err := ReadRollout(context.Background(), client, namespace, name)
	if err != nil {
		return ""
	}
	return r.String()
}

// Load reads and validates every setting of the stack, reporting all
// problems at once.
func Load(ctx *pulumi.Context) (*Stack, error) {
	cfg := config.New(ctx, Project)
	var ps settings.Problems

	raw := cfg.Get(fleetsKey)
	if raw == "" {
		ps.Add(fleetsKey, "is required: list the runner fleets under %s:%s in Pulumi.%s.yaml (see docs/configuration.md)", Project, fleetsKey, ctx.Stack())
		return nil, ps.Err()
	}
	plans, problems := plan.Fleets(raw, ctx.Stack())
	ps = append(ps, problems...)
	fleets := make([]settings.FleetSettings, len(plans))
	for i, p := range plans {
		fleets[i] = p.Settings
	}
	clusters, problems := loadClusters(ctx, cfg)
	ps = append(ps, problems...)
	ps = append(ps, checkClusterRefs(ctx, fleets, clusters)...)

	gitlabURL := cfg.Get(gitlabURLKey)
	if gitlabURL == "" {
		gitlabURL = settings.GitlabURLFromBaseURL(config.Get(ctx, "gitlab:baseUrl"))
	}
	ps = append(ps, settings.ValidateGitlabURL(gitlabURLKey+" (or gitlab:baseUrl)", gitlabURL)...)
	if config.Get(ctx, "gitlab:token") != "" && !ctx.IsConfigSecret("gitlab:token") {
		ps.Add("gitlab:token", "is stored in plain text; set it again with `pulumi config set --secret gitlab:token <token>`")
	}

	// The stack settings fleets name (tokens, cache keys, CA bundles, registry
	// credentials): set, encrypted where they must be, and well-formed.
	tokens := map[string]pulumi.StringOutput{}
	values := map[string]map[string]pulumi.StringOutput{}
	for i, f := range fleets {
		read, problems := fleet.ReadConfigValues(ctx, Project, f, settings.FleetPath(i, f.Name))
		ps = append(ps, problems...)
		values[f.Name] = read
		if v, ok := read[f.TokenConfigKey]; ok {
			tokens[f.Name] = v
		}
	}
	var api *settings.APIServerSetting
	if raw := cfg.Get(apiServerKey); raw != "" && raw != "{}" && raw != "null" { // {}: the schema's default, read from the cluster
		api = &settings.APIServerSetting{}
		ps = append(ps, settings.Decode(apiServerKey, raw, api)...)
		ps = append(ps, api.Validate(apiServerKey)...)
	}
	if err := ps.Err(); err != nil {
		return nil, err
	}
	return &Stack{GitlabURL: gitlabURL, Plans: plans, Tokens: tokens, Values: values, APIServer: api, Clusters: clusters}, nil
}

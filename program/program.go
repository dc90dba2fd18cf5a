// Package program is the Pulumi program: it reads the stack's settings,
// validates all of them, and creates one RunnerFleet per fleet. main.go runs
// it with pulumi.Run; tests and the local driver run the very same function
// through mocks or the Automation API.
package program

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
	"k8s.io/client-go/kubernetes"

	"example.com/gitlab-runner-fleet/components"
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
	Plans     []components.FleetPlan
	// Tokens are existing runner tokens by fleet name (secret outputs).
	Tokens map[string]pulumi.StringOutput
	// Values are the stack settings each fleet names, by fleet and key.
	Values map[string]map[string]pulumi.StringOutput
	// APIServer is the apiServer setting, when given.
	APIServer *APIServerSetting
	// Clusters are the named clusters (clusters.go); fleets without a
	// cluster run in the default provider's.
	Clusters map[string]*Cluster
}

// APIServerSetting names the API server's addresses for the NetworkPolicies
// when reading them from the cluster is not wanted.
type APIServerSetting struct {
	CIDRs []string `json:"cidrs"`
	Port  int      `json:"port"`
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
	fleets := make([]*components.RunnerFleet, len(stack.Plans))
	outputs := pulumi.Map{}
	for i, plan := range stack.Plans {
		target := targets[plan.Settings.Cluster]
		shared := map[string]pulumi.StringInput{}
		for ns, owner := range plan.SharedFrom {
			shared[ns] = fleets[owner].Namespaces[ns]
		}
		args := &components.RunnerFleetArgs{
			Settings:         plan.Settings,
			GitlabURL:        stack.GitlabURL,
			CreateNamespaces: plan.Create,
			SharedNamespaces: shared,
			Now:              o.Now,
			Jobs:             plan.Jobs,
			APIServer:        target.apiServer,
			ConfigValues:     stack.Values[plan.Settings.Name],
		}
		if token, ok := stack.Tokens[plan.Settings.Name]; ok {
			args.Token = token
		}
		fleet, err := components.NewRunnerFleet(ctx, plan.Settings.Name, args, target.options()...)
		if err != nil {
			return err
		}
		fleets[i] = fleet
		output := pulumi.Map{
			"namespace":         fleet.Namespace,
			"jobNamespace":      fleet.JobNamespace,
			"statefulSetName":   fleet.StatefulSetName,
			"runnerId":          fleet.RunnerID,
			"tokenRotatesAfter": fleet.TokenRotatesAfter,
			"rollout":           o.reportRollout(ctx, target, fleet, plan.Settings),
		}
		if plan.Settings.Cluster != "" {
			output["cluster"] = pulumi.String(plan.Settings.Cluster)
		}
		outputs[plan.Settings.Name] = output
	}
	ctx.Export("fleets", outputs)
	return nil
}

// reportRollout reads (and with manager.rolloutTimeout, waits for) the
// managers' rollout once `up` has applied the StatefulSet, and logs it. It
// never fails `up` (see rollout.go); previews report nothing.
func (o Options) reportRollout(ctx *pulumi.Context, target clusterTarget, fleet *components.RunnerFleet, s components.FleetSettings) pulumi.StringOutput {
	return pulumi.All(fleet.Namespace, fleet.StatefulSetName).ApplyT(func(v []any) string {
		if ctx.DryRun() {
			return ""
		}
		namespace, name := v[0].(string), v[1].(string)
		log := func(r Rollout) {
			_ = ctx.Log.Info(fmt.Sprintf("fleet %s: rollout %s", s.Name, r), &pulumi.LogArgs{Resource: fleet})
		}
		client, err := o.Kube(target.access)
		if err != nil {
			message := redact(err.Error(), target.secrets)
			_ = ctx.Log.Warn(fmt.Sprintf("fleet %s: cannot read the rollout: %s", s.Name, message), &pulumi.LogArgs{Resource: fleet})
			return "unknown: " + message
		}
		timeout := time.Duration(s.Manager.RolloutTimeout) * time.Second
		r, err := WaitRollout(context.Background(), client, namespace, name, timeout, log)
		if err != nil {
			message := redact(err.Error(), target.secrets)
			_ = ctx.Log.Warn(fmt.Sprintf("fleet %s: cannot read the rollout: %s", s.Name, message), &pulumi.LogArgs{Resource: fleet})
			return "unknown: " + message
		}
		if !r.Complete {
			_ = ctx.Log.Info(fmt.Sprintf("fleet %s: `up` is done; the managers go on rolling in the cluster: kubectl rollout status statefulset/%s -n %s", s.Name, name, namespace),
				&pulumi.LogArgs{Resource: fleet})
		}
		return r.String()
	}).(pulumi.StringOutput)
}

// decodeAPIServer reads and checks an apiServer setting (the stack's, or a
// cluster's at path).
func decodeAPIServer(path, raw string, into *APIServerSetting) components.Problems {
	var ps components.Problems
	decoder := json.NewDecoder(strings.NewReader(raw))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(into); err != nil {
		return append(ps, components.Problem{Path: path, Message: fmt.Sprintf("must be {cidrs: [...], port: N}: %v", err)})
	}
	if len(into.CIDRs) == 0 {
		ps = append(ps, components.Problem{Path: path + ".cidrs", Message: "must list the API server's addresses, e.g. [\"10.0.0.10/32\"]"})
	}
	for i, c := range into.CIDRs {
		if _, err := netip.ParsePrefix(c); err != nil {
			ps = append(ps, components.Problem{Path: fmt.Sprintf("%s.cidrs[%d]", path, i), Message: fmt.Sprintf("%q is not an address range", c)})
		}
	}
	if into.Port < 1 || into.Port > 65535 {
		ps = append(ps, components.Problem{Path: path + ".port", Message: fmt.Sprintf("must be a TCP port, got %d", into.Port)})
	}
	return ps
}

// Load reads and validates every setting of the stack, reporting all
// problems at once.
func Load(ctx *pulumi.Context) (*Stack, error) {
	cfg := config.New(ctx, Project)
	var ps components.Problems

	raw := cfg.Get(fleetsKey)
	if raw == "" {
		ps = append(ps, components.Problem{Path: fleetsKey, Message: fmt.Sprintf(
			"is required: list the runner fleets under %s:%s in Pulumi.%s.yaml (see README)", Project, fleetsKey, ctx.Stack())})
		return nil, ps.Err()
	}
	decoded, problems := components.DecodeFleets(raw)
	ps = append(ps, problems...)
	fleets := make([]components.FleetSettings, len(decoded))
	for i, f := range decoded {
		fleets[i] = f.WithDefaults(ctx.Stack())
	}
	plans, problems := components.PlanFleets(fleets)
	ps = append(ps, problems...)
	clusters, problems := loadClusters(ctx, cfg)
	ps = append(ps, problems...)
	ps = append(ps, checkClusterRefs(ctx, fleets, clusters)...)

	gitlabURL := cfg.Get(gitlabURLKey)
	if gitlabURL == "" {
		gitlabURL = strings.TrimSuffix(strings.TrimSuffix(config.Get(ctx, "gitlab:baseUrl"), "/"), "/api/v4") + "/"
		if gitlabURL == "/" {
			gitlabURL = ""
		}
	}
	ps = append(ps, components.ValidateGitlabURL(gitlabURLKey+" (or gitlab:baseUrl)", gitlabURL)...)
	if config.Get(ctx, "gitlab:token") != "" && !ctx.IsConfigSecret("gitlab:token") {
		ps = append(ps, components.Problem{Path: "gitlab:token", Message: "is stored in plain text; set it again with `pulumi config set --secret gitlab:token <token>`"})
	}

	// The stack settings fleets name (tokens, cache keys, CA bundles, registry
	// credentials): set, encrypted where they must be, and well-formed.
	tokens := map[string]pulumi.StringOutput{}
	values := map[string]map[string]pulumi.StringOutput{}
	for i, f := range fleets {
		values[f.Name] = map[string]pulumi.StringOutput{}
		for _, cv := range f.ConfigValues(fmt.Sprintf("fleets[%d]", i)) {
			if !components.ValidTokenConfigKey(cv.Key) {
				continue // a key that cannot name a setting is reported by Validate, never echoed
			}
			key := Project + ":" + cv.Key
			value := cfg.Get(cv.Key)
			secretFlag := ""
			if cv.Secret {
				secretFlag = "--secret "
			}
			switch {
			case value == "":
				ps = append(ps, components.Problem{Path: cv.Path, Message: fmt.Sprintf(
					"names %s, which is not set; run `pulumi config set %s%s <value>`", key, secretFlag, cv.Key)})
				continue
			case cv.Secret && !ctx.IsConfigSecret(key):
				ps = append(ps, components.Problem{Path: cv.Path, Message: fmt.Sprintf(
					"names %s, which is stored in plain text; set it again with `pulumi config set --secret %s <value>`", key, cv.Key)})
				continue
			}
			if cv.Check != nil {
				if err := cv.Check(value); err != nil {
					ps = append(ps, components.Problem{Path: cv.Path, Message: fmt.Sprintf("names %s, which %v", key, err)})
					continue
				}
			}
			v := pulumi.String(value).ToStringOutput()
			if cv.Secret || ctx.IsConfigSecret(key) {
				v = cfg.RequireSecret(cv.Key)
			}
			values[f.Name][cv.Key] = v
			if cv.Key == f.TokenConfigKey {
				tokens[f.Name] = v
			}
		}
	}
	var api *APIServerSetting
	if raw := cfg.Get(apiServerKey); raw != "" && raw != "{}" && raw != "null" { // {}: the schema's default, read from the cluster
		api = &APIServerSetting{}
		ps = append(ps, decodeAPIServer(apiServerKey, raw, api)...)
	}
	if err := ps.Err(); err != nil {
		return nil, err
	}
	return &Stack{GitlabURL: gitlabURL, Plans: plans, Tokens: tokens, Values: values, APIServer: api, Clusters: clusters}, nil
}

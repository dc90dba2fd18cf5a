package program

import (
	"maps"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/glrf/gitlab-runner-fleet/components/fleet"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// clustersKey is the stack setting of the clusters fleets run in.
//
// Fleets in several clusters: gitlab-runner-fleet:clusters names the clusters of a stack; a fleet's
// `cluster` says which one it runs in, and a fleet without one runs where the
// default provider (kubernetes:*) deploys, as in a stack without clusters.
// Each named cluster gets one explicit Kubernetes provider, passed to its
// fleets' components with pulumi.Providers so that every child uses it.
//
// A cluster's name is its identity: it is the provider's clusterIdentifier,
// so changing how a cluster is reached (a new kubeconfig or context for the
// same cluster) replaces nothing, while moving a fleet to a cluster of
// another name replaces its Kubernetes objects, created in the new cluster
// before they are deleted from the old one. The runner in GitLab, and so its
// token, stays: its provider is GitLab's.
const clustersKey = "clusters"

// Cluster is a named cluster of the stack, validated.
type Cluster struct {
	Name    string
	Setting settings.ClusterSetting
	// kubeconfig is the content of the secret setting Setting.Kubeconfig
	// names: secret as a provider input, plain only for the program's own
	// read of the rollout, and never echoed.
	kubeconfig       pulumi.StringOutput
	kubeconfigText   string
	hasKubeconfigKey bool
}

// access is how the program itself reads this cluster (the rollout).
func (c *Cluster) access() KubeAccess {
	return KubeAccess{Kubeconfig: c.kubeconfigText, Context: c.Setting.Context}
}

// providerArgs configure the cluster's provider: the kubeconfig stays
// secret, and the cluster's name is its identity (see above).
func (c *Cluster) providerArgs() *kubernetes.ProviderArgs {
	args := &kubernetes.ProviderArgs{ClusterIdentifier: pulumi.String(c.Name)}
	if c.hasKubeconfigKey {
		args.Kubeconfig = pulumi.ToSecret(c.kubeconfig).(pulumi.StringOutput)
	}
	if c.Setting.Context != "" {
		args.Context = pulumi.String(c.Setting.Context)
	}
	return args
}

// loadClusters reads and checks the clusters setting and the secret
// kubeconfig settings it names. It never echoes a kubeconfig.
func loadClusters(ctx *pulumi.Context, cfg *config.Config) (map[string]*Cluster, settings.Problems) {
	raw := cfg.Get(clustersKey)
	if raw == "" || raw == "{}" || raw == "null" { // {}: the schema's default, no named cluster
		return nil, nil
	}
	decoded, ps := settings.DecodeClusters(clustersKey, raw)
	clusters := map[string]*Cluster{}
	for _, name := range slices.Sorted(maps.Keys(decoded)) {
		c := &Cluster{Name: name, Setting: decoded[name]}
		if key := c.Setting.Kubeconfig; key != "" && settings.ValidKubeconfigKey(key) {
			ps = append(ps, c.loadKubeconfig(ctx, cfg, clustersKey+"."+name+".kubeconfig")...)
		}
		clusters[name] = c
	}
	return clusters, ps
}

// loadKubeconfig reads the secret setting a cluster's kubeconfig names,
// as tokenConfigKey is read: set, secret, and never echoed.
func (c *Cluster) loadKubeconfig(ctx *pulumi.Context, cfg *config.Config, path string) settings.Problems {
	var ps settings.Problems
	key := c.Setting.Kubeconfig
	if slices.Contains([]string{fleetsKey, clustersKey, gitlabURLKey, apiServerKey}, key) {
		ps.Add(path, "names %s:%s, a setting of the program itself; name a secret setting holding the kubeconfig (%s)", Project, key, settings.KubeconfigExample(c.Name))
		return ps
	}
	full := Project + ":" + key
	value := cfg.Get(key)
	switch {
	case value == "":
		ps.Add(path, "names %s, which is not set; run `pulumi config set --secret %s < kubeconfig.yaml`", full, key)
	case !ctx.IsConfigSecret(full):
		ps.Add(path, "names %s, which is stored in plain text: a kubeconfig holds the cluster's credentials; set it again with `pulumi config set --secret %s < kubeconfig.yaml`", full, key)
	default:
		c.kubeconfig = cfg.RequireSecret(key)
		c.kubeconfigText = value
		c.hasKubeconfigKey = true
	}
	return ps
}

// defaultIdentifierKey names the default cluster when fleets run both there
// and in named clusters (see checkClusterRefs).
const defaultIdentifierKey = "kubernetes:clusterIdentifier"

// checkClusterRefs checks that every fleet's cluster is a named cluster and,
// when fleets run both in the default cluster and in named ones, that the
// default provider has a clusterIdentifier of its own: without one the
// Kubernetes provider guesses whether two kubeconfigs reach the same
// cluster, and cannot tell when the default one comes from KUBECONFIG, so a
// fleet moved between the default cluster and a named one would have its
// objects applied to the new cluster and left in the old one.
func checkClusterRefs(ctx *pulumi.Context, fleets []settings.FleetSettings, clusters map[string]*Cluster) settings.Problems {
	var ps settings.Problems
	if len(clusters) > 0 && slices.ContainsFunc(fleets, func(f settings.FleetSettings) bool { return f.Cluster == "" }) {
		id := config.Get(ctx, defaultIdentifierKey)
		switch {
		case id == "":
			ps.Add(defaultIdentifierKey, "is required when some fleets run in the default provider's cluster and others in named clusters: "+
				"it tells the default cluster apart, so that moving a fleet between it and a named cluster replaces the fleet's objects there (set it, e.g. "+
				"`pulumi config set kubernetes:clusterIdentifier main`, in an `up` of its own before moving fleets: it replaces nothing)")
		case clusters[id] != nil:
			ps.Add(defaultIdentifierKey, "is %q, the name of a cluster in %s:%s: the default cluster needs an identifier of its own", id, Project, clustersKey)
		}
	}
	known := slices.Sorted(maps.Keys(clusters))
	for i, f := range fleets {
		if f.Cluster == "" || clusters[f.Cluster] != nil {
			continue
		}
		path := settings.FleetPath(i, f.Name) + ".cluster"
		if len(known) == 0 {
			ps.Add(path, "names cluster %q, but the stack names no cluster: add it to %s:%s (e.g. {%s: {kubeconfig: <secret setting>}}), or leave cluster out to use the default provider's cluster",
				f.Cluster, Project, clustersKey, f.Cluster)
			continue
		}
		ps.Add(path, "names cluster %q, which is not in %s:%s; known clusters: %s", f.Cluster, Project, clustersKey, strings.Join(known, ", "))
	}
	return ps
}

// usedClusters are the named clusters some fleet runs in, by name.
func (s *Stack) usedClusters() []*Cluster {
	var used []*Cluster
	for _, name := range slices.Sorted(maps.Keys(s.Clusters)) {
		for _, p := range s.Plans {
			if p.Settings.Cluster == name {
				used = append(used, s.Clusters[name])
				break
			}
		}
	}
	return used
}

// clusterTarget is where a cluster's fleets go: the provider passed to their
// components (nil: the default provider), the API server's addresses, and
// how the program reads the rollout there.
type clusterTarget struct {
	provider  *kubernetes.Provider
	apiServer fleet.APIServer
	access    KubeAccess
	// secrets the rollout's messages must not echo (the kubeconfig).
	secrets []string
}

// options are the resource options of a fleet in this cluster.
func (t clusterTarget) options() []pulumi.ResourceOption {
	if t.provider == nil {
		return nil
	}
	return []pulumi.ResourceOption{pulumi.Providers(t.provider)}
}

// targets registers one provider per used named cluster and finds each
// cluster's API server; "" is the default cluster.
func (s *Stack) targets(ctx *pulumi.Context, defaultAccess KubeAccess) (map[string]clusterTarget, error) {
	targets := map[string]clusterTarget{}
	if s.usesCluster("") {
		api, err := s.apiServerOf(ctx, "", s.APIServer, "kubernetes-api-server")
		if err != nil {
			return nil, err
		}
		targets[""] = clusterTarget{apiServer: api, access: defaultAccess}
	}
	for _, c := range s.usedClusters() {
		provider, err := kubernetes.NewProvider(ctx, c.Name, c.providerArgs())
		if err != nil {
			return nil, err
		}
		api, err := s.apiServerOf(ctx, c.Name, c.Setting.APIServer, c.Name+"/kubernetes-api-server", pulumi.Provider(provider))
		if err != nil {
			return nil, err
		}
		t := clusterTarget{provider: provider, apiServer: api, access: c.access()}
		if c.kubeconfigText != "" {
			t.secrets = []string{c.kubeconfigText}
		}
		targets[c.Name] = t
	}
	return targets, nil
}

func (s *Stack) usesCluster(name string) bool {
	for _, p := range s.Plans {
		if p.Settings.Cluster == name {
			return true
		}
	}
	return false
}

// apiServerOf is a cluster's apiServer setting, or its API server's
// addresses read from it once, when some fleet there has NetworkPolicies.
func (s *Stack) apiServerOf(ctx *pulumi.Context, cluster string, setting *settings.APIServerSetting, readName string, opts ...pulumi.ResourceOption) (fleet.APIServer, error) {
	if setting != nil {
		return fleet.StaticAPIServer(setting.CIDRs, setting.Port), nil
	}
	for _, p := range s.Plans {
		if p.Settings.Cluster == cluster && p.Settings.Network.PoliciesOn() {
			return fleet.DiscoverAPIServer(ctx, readName, opts...)
		}
	}
	return fleet.APIServer{}, nil
}

// redact hides secrets (a kubeconfig) in a message that may reach the
// engine's output or a stack output.
func redact(message string, secrets []string) string {
	for _, s := range secrets {
		if strings.TrimSpace(s) != "" {
			message = strings.ReplaceAll(message, s, "[secret]")
		}
	}
	return message
}

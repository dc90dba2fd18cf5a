package program

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
	"k8s.io/apimachinery/pkg/util/validation"

	"example.com/gitlab-runner-fleet/components"
)

// Fleets in several clusters.
//
// gitlab-runner-fleet:clusters names the clusters of a stack; a fleet's
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

// ClusterSetting is one cluster of the clusters setting.
type ClusterSetting struct {
	// Kubeconfig names a secret setting of this project that holds the
	// cluster's kubeconfig (its content, as `pulumi config set --secret
	// <name> < kubeconfig.yaml` stores it). Without it the ambient kubeconfig
	// (KUBECONFIG, ~/.kube/config) is used.
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// Context is the kubeconfig context to use (default: its current one).
	Context string `json:"context,omitempty"`
	// APIServer is the cluster's API server for the NetworkPolicies, as the
	// stack-level apiServer is for the default cluster (default: read from
	// the cluster).
	APIServer *APIServerSetting `json:"apiServer,omitempty"`
}

// clusterKeys are the settings of a cluster, for the unknown-key check.
var clusterKeys = []string{"apiServer", "context", "kubeconfig"}

// Cluster is a named cluster of the stack, validated.
type Cluster struct {
	Name    string
	Setting ClusterSetting
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
func loadClusters(ctx *pulumi.Context, cfg *config.Config) (map[string]*Cluster, components.Problems) {
	var ps components.Problems
	raw := cfg.Get(clustersKey)
	if raw == "" || raw == "{}" || raw == "null" { // {}: the schema's default, no named cluster
		return nil, nil
	}
	var items map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &items); err != nil {
		return nil, append(ps, components.Problem{Path: clustersKey, Message: "must map cluster names to {kubeconfig: <secret setting>, context: <name>, apiServer: {...}}, e.g. {build-eu: {kubeconfig: buildEuKubeconfig}}"})
	}
	names := make([]string, 0, len(items))
	for name := range items {
		names = append(names, name)
	}
	sort.Strings(names)
	clusters := map[string]*Cluster{}
	seen := map[ClusterSetting]string{} // where each cluster is reached, for duplicates
	for _, name := range names {
		path := clustersKey + "." + name
		c := &Cluster{Name: name}
		problems := decodeCluster(path, items[name], &c.Setting)
		ps = append(ps, problems...)
		if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
			ps = append(ps, components.Problem{Path: path, Message: fmt.Sprintf("%q cannot name a cluster: it must be a DNS label (lowercase letters, digits and '-', at most 63 characters): %s",
				name, strings.Join(errs, "; "))})
		}
		if len(problems) > 0 {
			continue
		}
		s := c.Setting
		if s.Kubeconfig == "" && s.Context == "" {
			ps = append(ps, components.Problem{Path: path, Message: "says neither how to reach the cluster: set kubeconfig (a secret setting holding its kubeconfig) or context (a context of the ambient kubeconfig), or both"})
		}
		if s.Kubeconfig != "" {
			ps = append(ps, c.loadKubeconfig(ctx, cfg, path+".kubeconfig")...)
		}
		reach := ClusterSetting{Kubeconfig: s.Kubeconfig, Context: s.Context}
		if other, dup := seen[reach]; dup {
			ps = append(ps, components.Problem{Path: path, Message: fmt.Sprintf(
				"is reached exactly as cluster %q (same kubeconfig and context): a cluster is named once, or fleets of both could claim the same namespaces", other)})
		} else {
			seen[reach] = name
		}
		clusters[name] = c
	}
	return clusters, ps
}

// decodeCluster decodes one cluster, reporting every unknown key and
// every value of the wrong type.
func decodeCluster(path string, raw json.RawMessage, into *ClusterSetting) components.Problems {
	var ps components.Problems
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil || keys == nil {
		return append(ps, components.Problem{Path: path, Message: "must be an object such as {kubeconfig: <secret setting>, context: <name>}"})
	}
	for _, key := range sortedKeys(keys) {
		value := keys[key]
		switch key {
		case "kubeconfig", "context":
			var text string
			if err := json.Unmarshal(value, &text); err != nil {
				ps = append(ps, components.Problem{Path: path + "." + key, Message: "must be a string"})
			} else if key == "kubeconfig" {
				into.Kubeconfig = text
			} else {
				into.Context = text
			}
		case "apiServer":
			into.APIServer = &APIServerSetting{}
			ps = append(ps, decodeAPIServer(path+".apiServer", string(value), into.APIServer)...)
		default:
			ps = append(ps, components.Problem{Path: path + "." + key, Message: "unknown setting; known settings here: " + strings.Join(clusterKeys, ", ")})
		}
	}
	return ps
}

// loadKubeconfig reads the secret setting a cluster's kubeconfig names,
// as tokenConfigKey is read: set, secret, and never echoed.
func (c *Cluster) loadKubeconfig(ctx *pulumi.Context, cfg *config.Config, path string) components.Problems {
	var ps components.Problems
	key := c.Setting.Kubeconfig
	example := fmt.Sprintf("`pulumi config set --secret %sKubeconfig < kubeconfig.yaml`", lowerCamel(c.Name))
	switch {
	case looksLikeKubeconfig(key):
		return append(ps, components.Problem{Path: path, Message: "holds what looks like a kubeconfig, not the name of a setting: store the kubeconfig as a secret setting (" +
			example + ") and name that setting here"})
	case !components.ValidTokenConfigKey(key):
		return append(ps, components.Problem{Path: path, Message: "must name a secret setting of this project that holds the cluster's kubeconfig (" +
			example + "); a path or the kubeconfig itself is not accepted here"})
	case slices.Contains([]string{fleetsKey, clustersKey, gitlabURLKey, apiServerKey}, key):
		return append(ps, components.Problem{Path: path, Message: fmt.Sprintf("names %s:%s, a setting of the program itself; name a secret setting holding the kubeconfig (%s)", Project, key, example)})
	}
	full := Project + ":" + key
	value := cfg.Get(key)
	switch {
	case value == "":
		ps = append(ps, components.Problem{Path: path, Message: fmt.Sprintf(
			"names %s, which is not set; run `pulumi config set --secret %s < kubeconfig.yaml`", full, key)})
	case !ctx.IsConfigSecret(full):
		ps = append(ps, components.Problem{Path: path, Message: fmt.Sprintf(
			"names %s, which is stored in plain text: a kubeconfig holds the cluster's credentials; set it again with `pulumi config set --secret %s < kubeconfig.yaml`", full, key)})
	default:
		c.kubeconfig = cfg.RequireSecret(key)
		c.kubeconfigText = value
		c.hasKubeconfigKey = true
	}
	return ps
}

// looksLikeKubeconfig tells a pasted kubeconfig from a setting's name.
func looksLikeKubeconfig(value string) bool {
	return strings.ContainsAny(value, "\n{:") || strings.Contains(value, "apiVersion")
}

// lowerCamel turns a cluster name into a setting name: build-eu -> buildEu.
func lowerCamel(name string) string {
	var b strings.Builder
	upper := false
	for _, r := range name {
		switch {
		case r == '-':
			upper = true
		case upper:
			b.WriteString(strings.ToUpper(string(r)))
			upper = false
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
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
func checkClusterRefs(ctx *pulumi.Context, fleets []components.FleetSettings, clusters map[string]*Cluster) components.Problems {
	var ps components.Problems
	if len(clusters) > 0 && slices.ContainsFunc(fleets, func(f components.FleetSettings) bool { return f.Cluster == "" }) {
		id := config.Get(ctx, defaultIdentifierKey)
		switch {
		case id == "":
			ps = append(ps, components.Problem{Path: defaultIdentifierKey, Message: "is required when some fleets run in the default provider's cluster and others in named clusters: " +
				"it tells the default cluster apart, so that moving a fleet between it and a named cluster replaces the fleet's objects there (set it, e.g. " +
				"`pulumi config set kubernetes:clusterIdentifier main`, in an `up` of its own before moving fleets: it replaces nothing)"})
		case clusters[id] != nil:
			ps = append(ps, components.Problem{Path: defaultIdentifierKey, Message: fmt.Sprintf(
				"is %q, the name of a cluster in %s:%s: the default cluster needs an identifier of its own", id, Project, clustersKey)})
		}
	}
	known := make([]string, 0, len(clusters))
	for name := range clusters {
		known = append(known, name)
	}
	sort.Strings(known)
	for i, f := range fleets {
		if f.Cluster == "" || clusters[f.Cluster] != nil {
			continue
		}
		path := fmt.Sprintf("fleets[%d].cluster", i)
		if len(known) == 0 {
			ps = append(ps, components.Problem{Path: path, Message: fmt.Sprintf(
				"names cluster %q, but the stack names no cluster: add it to %s:%s (e.g. {%s: {kubeconfig: <secret setting>}}), or leave cluster out to use the default provider's cluster",
				f.Cluster, Project, clustersKey, f.Cluster)})
			continue
		}
		ps = append(ps, components.Problem{Path: path, Message: fmt.Sprintf(
			"names cluster %q, which is not in %s:%s; known clusters: %s", f.Cluster, Project, clustersKey, strings.Join(known, ", "))})
	}
	return ps
}

// usedClusters are the named clusters some fleet runs in, by name.
func (s *Stack) usedClusters() []*Cluster {
	var used []*Cluster
	for _, name := range sortedKeys(s.Clusters) {
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
	apiServer components.APIServer
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
func (s *Stack) apiServerOf(ctx *pulumi.Context, cluster string, setting *APIServerSetting, readName string, opts ...pulumi.ResourceOption) (components.APIServer, error) {
	if setting != nil {
		return components.StaticAPIServer(setting.CIDRs, setting.Port), nil
	}
	for _, p := range s.Plans {
		if p.Settings.Cluster == cluster && p.Settings.Network.PoliciesOn() {
			return components.DiscoverAPIServer(ctx, readName, opts...)
		}
	}
	return components.APIServer{}, nil
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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

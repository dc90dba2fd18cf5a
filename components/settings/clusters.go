package settings

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// ClusterSetting is one cluster of the clusters stack setting: how the
// program reaches a cluster that fleets name (FleetSettings.Cluster).
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

// APIServerSetting names the API server's addresses for the NetworkPolicies
// when reading them from the cluster is not wanted.
type APIServerSetting struct {
	// CIDRs are the API server's addresses (e.g. 10.0.0.10/32): the
	// NetworkPolicies keep jobs from them and let the managers reach them.
	CIDRs []string `json:"cidrs"`
	// Port is the API server's port (e.g. 443 or 6443).
	Port int `json:"port"`
}

// DecodeClusters decodes and checks the clusters stack setting: cluster
// names to ClusterSetting. Reading the kubeconfig settings they name is the
// program's (they are stack settings of their own).
func DecodeClusters(path, raw string) (map[string]ClusterSetting, Problems) {
	var clusters map[string]ClusterSetting
	ps := Decode(path, raw, &clusters)
	seen := map[ClusterSetting]string{} // where each cluster is reached, for duplicates
	for _, name := range slices.Sorted(maps.Keys(clusters)) {
		at := path + "." + name
		c := clusters[name]
		if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
			ps.Add(at, "%q cannot name a cluster: it must be a DNS label (lowercase letters, digits and '-', at most 63 characters): %s",
				name, strings.Join(errs, "; "))
		}
		if c.Kubeconfig == "" && c.Context == "" {
			ps.Add(at, "says neither how to reach the cluster: set kubeconfig (a secret setting holding its kubeconfig) or context (a context of the ambient kubeconfig), or both")
		}
		if c.Kubeconfig != "" {
			checkKubeconfigKey(&ps, at+".kubeconfig", name, c.Kubeconfig)
		}
		if c.APIServer != nil {
			ps = append(ps, c.APIServer.Validate(at+".apiServer")...)
		}
		reach := ClusterSetting{Kubeconfig: c.Kubeconfig, Context: c.Context}
		if other, dup := seen[reach]; dup {
			ps.Add(at, "is reached exactly as cluster %q (same kubeconfig and context): a cluster is named once, or fleets of both could claim the same namespaces", other)
		} else {
			seen[reach] = name
		}
	}
	return clusters, ps
}

// KubeconfigExample is how to store a cluster's kubeconfig in a secret setting.
func KubeconfigExample(cluster string) string {
	return fmt.Sprintf("`pulumi config set --secret %sKubeconfig < kubeconfig.yaml`", lowerCamel(cluster))
}

// checkKubeconfigKey checks that a cluster's kubeconfig setting names a
// setting; it never echoes a pasted kubeconfig.
func checkKubeconfigKey(ps *Problems, path, cluster, key string) {
	switch {
	case looksLikeKubeconfig(key):
		ps.Add(path, "holds what looks like a kubeconfig, not the name of a setting: store the kubeconfig as a secret setting (%s) and name that setting here", KubeconfigExample(cluster))
	case !ValidTokenConfigKey(key):
		ps.Add(path, "must name a secret setting of this project that holds the cluster's kubeconfig (%s); a path or the kubeconfig itself is not accepted here", KubeconfigExample(cluster))
	}
}

// ValidKubeconfigKey reports whether key can name the secret setting of a
// cluster's kubeconfig (DecodeClusters explains why not).
func ValidKubeconfigKey(key string) bool {
	return !looksLikeKubeconfig(key) && ValidTokenConfigKey(key)
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

// Validate checks a decoded apiServer setting at path.
func (a APIServerSetting) Validate(path string) Problems {
	var ps Problems
	if len(a.CIDRs) == 0 {
		ps.Add(path+".cidrs", "must list the API server's addresses, e.g. [\"10.0.0.10/32\"]")
	}
	for i, c := range a.CIDRs {
		if _, err := netip.ParsePrefix(c); err != nil {
			ps.Add(fmt.Sprintf("%s.cidrs[%d]", path, i), "%q is not an address range", c)
		}
	}
	if a.Port < 1 || a.Port > 65535 {
		ps.Add(path+".port", "must be a TCP port, got %d", a.Port)
	}
	return ps
}

package runnerconfig

import (
	"cmp"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/glrf/gitlab-runner-fleet/components/runnerversion"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

func init() { addPart("jobpolicy", applyJobPolicy) }

// ServiceConfig is one [[runners.kubernetes.services]].
type ServiceConfig struct {
	Name       string   `toml:"name" runner:"Service"`
	Alias      string   `toml:"alias,omitempty" runner:"Service"`
	Command    []string `toml:"command,omitempty" runner:"Service"`
	Entrypoint []string `toml:"entrypoint,omitempty" runner:"Service"`
}

// DNSConfig is [runners.kubernetes.dns_config].
type DNSConfig struct {
	Nameservers []string          `toml:"nameservers,omitempty" runner:"KubernetesDNSConfig"`
	Searches    []string          `toml:"searches,omitempty" runner:"KubernetesDNSConfig"`
	Options     []DNSConfigOption `toml:"options,omitempty" runner:"KubernetesDNSConfig"`
}

// DNSConfigOption is one dns_config option.
type DNSConfigOption struct {
	Name  string `toml:"name" runner:"KubernetesDNSConfigOption"`
	Value string `toml:"value,omitempty" runner:"KubernetesDNSConfigOption"`
}

// AffinityConfig is [runners.kubernetes.affinity] (node affinity only).
type AffinityConfig struct {
	NodeAffinity *NodeAffinityConfig `toml:"node_affinity,omitempty" runner:"KubernetesAffinity"`
}

// NodeAffinityConfig is [runners.kubernetes.affinity.node_affinity].
type NodeAffinityConfig struct {
	Required *NodeSelectorConfig `toml:"required_during_scheduling_ignored_during_execution,omitempty" runner:"KubernetesNodeAffinity"`
}

// NodeSelectorConfig is a node selector.
type NodeSelectorConfig struct {
	Terms []NodeSelectorTermConfig `toml:"node_selector_terms" runner:"NodeSelector"`
}

// NodeSelectorTermConfig is one node selector term.
type NodeSelectorTermConfig struct {
	MatchExpressions []NodeRequirementConfig `toml:"match_expressions" runner:"NodeSelectorTerm"`
}

// NodeRequirementConfig is one match expression.
type NodeRequirementConfig struct {
	Key      string   `toml:"key" runner:"NodeSelectorRequirement"`
	Operator string   `toml:"operator" runner:"NodeSelectorRequirement"`
	Values   []string `toml:"values,omitempty" runner:"NodeSelectorRequirement"`
}

// HostAliasConfig is one [[runners.kubernetes.host_aliases]].
type HostAliasConfig struct {
	IP        string   `toml:"ip" runner:"KubernetesHostAliases"`
	Hostnames []string `toml:"hostnames" runner:"KubernetesHostAliases"`
}

// applyJobPolicy renders what jobs see and may ask for into r: their
// environment, the images and services they may use, default services
// (Docker-in-Docker's among them), DNS, scheduling, extra host names, pod
// spec patches, and the bounds of what a job's variables may overwrite.
func applyJobPolicy(r *RunnerConfig, s settings.FleetSettings) {
	e, k := s.Executor, &r.Kubernetes
	env := maps.Clone(e.Environment)
	if env == nil {
		env = map[string]string{}
	}
	volumes := e.Volumes
	services := e.Services
	if e.DockerInDocker {
		// GitLab's recipe for Docker-in-Docker over TLS: the dind service
		// writes client certificates into a volume shared with the build.
		env["DOCKER_HOST"] = "tcp://docker:2376"
		env["DOCKER_TLS_CERTDIR"] = "/certs"
		env["DOCKER_TLS_VERIFY"] = "1"
		env["DOCKER_CERT_PATH"] = "/certs/client"
		services = append([]settings.JobService{{Name: cmp.Or(e.DockerInDockerImage, settings.DefaultDockerInDockerImage), Alias: "docker"}}, services...)
		volumes = append([]settings.JobVolume{{Name: "docker-certs", MountPath: "/certs/client", EmptyDir: &settings.EmptyDirSource{Medium: "Memory", SizeLimit: "16Mi"}}}, volumes...)
	}
	for _, name := range slices.Sorted(maps.Keys(env)) {
		r.Environment = append(r.Environment, name+"="+env[name])
	}
	k.Volumes = kubernetesVolumes(volumes, s.RunnerVersion())
	for _, s := range services {
		k.Services = append(k.Services, ServiceConfig(s))
	}
	k.AllowedImages, k.AllowedServices = e.AllowedImages, e.AllowedServices
	k.DNSPolicy, k.PriorityClassName, k.SchedulerName = runnerDNSPolicies[e.DNSPolicy], e.PriorityClassName, e.SchedulerName
	if d := e.DNSConfig; d != nil {
		k.DNSConfig = &DNSConfig{Nameservers: d.Nameservers, Searches: d.Searches}
		for _, name := range slices.Sorted(maps.Keys(d.Options)) {
			k.DNSConfig.Options = append(k.DNSConfig.Options, DNSConfigOption{Name: name, Value: d.Options[name]})
		}
	}
	if len(e.NodeAffinity) > 0 {
		var term NodeSelectorTermConfig
		for _, req := range e.NodeAffinity {
			term.MatchExpressions = append(term.MatchExpressions, NodeRequirementConfig(req))
		}
		k.Affinity = &AffinityConfig{NodeAffinity: &NodeAffinityConfig{Required: &NodeSelectorConfig{Terms: []NodeSelectorTermConfig{term}}}}
	}
	for _, a := range e.HostAliases {
		k.HostAliases = append(k.HostAliases, HostAliasConfig(a))
	}
	for _, p := range e.PodSpecPatches {
		k.PodSpec = append(k.PodSpec, PodSpecPatch{Name: p.Name, PatchType: cmp.Or(p.PatchType, "strategic"), Patch: p.Patch})
	}
	if len(e.PodSpecPatches) > 0 {
		r.FeatureFlags[runnerversion.FFAdvancedPodSpec] = true
	}
	o := e.Overwrite
	if len(o.ServiceAccounts) > 0 {
		k.ServiceAccountOverwriteAllowed = "^(" + strings.Join(quoteAll(o.ServiceAccounts), "|") + ")$"
	}
	k.BearerTokenOverwriteAllowed = o.BearerToken
	k.CPULimitOverwriteMaxAllowed, k.CPURequestOverwriteMaxAllowed = o.CPULimit, o.CPURequest
	k.MemLimitOverwriteMaxAllowed, k.MemRequestOverwriteMaxAllowed = o.MemoryLimit, o.MemoryRequest
}

// runnerDNSPolicies are the runner's names (common.KubernetesDNSPolicy) of
// the pod DNS policies the settings name as Kubernetes does; the runner
// ignores, with a warning, a policy it does not know.
var runnerDNSPolicies = map[string]string{
	"ClusterFirst":            "cluster-first",
	"ClusterFirstWithHostNet": "cluster-first-with-host-net",
	"Default":                 "default",
	"None":                    "none",
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = regexp.QuoteMeta(n)
	}
	return out
}

package settings

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// ManagerPodSettings are what the official Helm chart and the GitLab Runner
// Operator let one add to the manager pod: variables (a proxy, say), volumes,
// a priority class, topology spread, a script run before the runner starts,
// and the session server of interactive web terminals. Each is checked like
// the rest, and the pod still passes the managers' namespace's `restricted`
// Pod Security level: no hostPath volume, no host port, nothing privileged.
type ManagerPodSettings struct {
	// Env are variables of the manager container, e.g. HTTPS_PROXY and
	// NO_PROXY (with the API server's address and .svc in NO_PROXY: the
	// runner reaches the API server through the proxy otherwise). Names the
	// fleet or gitlab-runner read are refused: `gitlab-runner register`
	// turns KUBERNETES_*, RUNNER_*, CACHE_*, FF_* ... into configuration,
	// which would bypass the fleet's settings and checks.
	Env []ManagerEnvVar `json:"env,omitempty"`
	// Volumes are mounted in the manager container: configMap, secret, pvc
	// (existing objects of the managers' namespace) or emptyDir.
	Volumes []ManagerVolume `json:"volumes,omitempty"`
	// PriorityClassName of the manager pods (an existing PriorityClass).
	PriorityClassName string `json:"priorityClassName,omitempty"`
	// TopologySpread spreads the managers over topology domains (zones,
	// say), beyond antiAffinity's nodes.
	TopologySpread []TopologySpread `json:"topologySpread,omitempty"`
	// PreEntrypointScript is a POSIX shell script the entrypoint runs before
	// it verifies the token (as the chart's preEntrypointScript), e.g. to
	// wait for a proxy. It runs as its own process with the container's
	// environment; its failure stops the start (the pod restarts). Its time
	// counts against the seven minutes the entrypoint has to verify the token
	// (inside the startup probe's ten): a script still running then is stopped.
	PreEntrypointScript string `json:"preEntrypointScript,omitempty"`
	// SessionServer serves interactive web terminals into running jobs.
	SessionServer *SessionServerSettings `json:"sessionServer,omitempty"`
}

// ManagerEnvVar is a variable of the manager container: a value, or a key
// of an existing Secret of the managers' namespace (a proxy's credentials).
type ManagerEnvVar struct {
	// Name of the variable.
	Name string `json:"name"`
	// Value of the variable (or secret).
	Value string `json:"value,omitempty"`
	// Secret is a key of an existing Secret holding the value.
	Secret *SecretKeyRef `json:"secret,omitempty"`
}

// ManagerVolume is a volume of the manager pod and where the manager
// container mounts it; exactly one of configMap, secret, pvc and emptyDir.
type ManagerVolume struct {
	// Name of the volume (a DNS label, unique per fleet).
	Name string `json:"name"`
	// MountPath is an absolute path, outside the fleet's own.
	MountPath string `json:"mountPath"`
	// SubPath mounts a path within the volume.
	SubPath string `json:"subPath,omitempty"`
	// ReadOnly mounts the volume read-only.
	ReadOnly bool `json:"readOnly,omitempty"`
	// ConfigMap, Secret and PVC name an existing object of the managers'
	// namespace.
	ConfigMap string `json:"configMap,omitempty"`
	Secret    string `json:"secret,omitempty"`
	PVC       string `json:"pvc,omitempty"`
	// Items maps ConfigMap or Secret keys to file paths (default: every key).
	Items map[string]string `json:"items,omitempty"`
	// EmptyDir is a scratch volume of the pod (on the node's disk, or in
	// memory with medium Memory), optionally with a size limit.
	EmptyDir *EmptyDirSource `json:"emptyDir,omitempty"`
}

// TopologySpread is a topology spread constraint over the fleet's managers.
type TopologySpread struct {
	// TopologyKey is the node label of the domains, e.g. topology.kubernetes.io/zone.
	TopologyKey string `json:"topologyKey"`
	// MaxSkew is the largest difference in managers between two domains (default 1).
	MaxSkew int `json:"maxSkew,omitempty"`
	// WhenUnsatisfiable: ScheduleAnyway (default: prefer, never block) or DoNotSchedule.
	WhenUnsatisfiable string `json:"whenUnsatisfiable,omitempty"`
	// MinDomains, with DoNotSchedule: the domains to count at least.
	MinDomains *int `json:"minDomains,omitempty"`
}

// SessionServerSettings turn on the runner's session server ([session_server]),
// through which GitLab opens an interactive web terminal into a running
// job's build container (the Kubernetes executor supports it: the manager
// proxies the terminal to the job pod's exec, a right it holds anyway).
// GitLab connects to the address the manager running the job advertised,
// over TLS with the runner's own certificate, so each manager needs an
// address of its own: by default <pod>.<fleet>.<namespace>.svc through the
// fleet's headless Service, which GitLab reaches when it runs in the same
// cluster. One address in front of several managers would reach any of
// them, not the job's: advertiseAddress is for a single manager only.
// Anyone who may open a terminal (a project's Developers) can already run
// code in its jobs; the terminal adds no right but reaches the manager pod's
// port, which the managers' NetworkPolicy admits from allowFrom only.
type SessionServerSettings struct {
	// Port the session server listens on (default 8093).
	Port int `json:"port,omitempty"`
	// SessionTimeout is how long (seconds) a terminal may stay open after
	// its job ends (default 1800).
	SessionTimeout int `json:"sessionTimeout,omitempty"`
	// AdvertiseAddress is host:port GitLab connects to, when it cannot
	// resolve the cluster's names (GitLab outside the cluster): only with
	// manager.replicas 1, and you route the address to the manager pod
	// (a LoadBalancer Service selecting the fleet's pods, TLS passthrough:
	// the runner's own certificate).
	AdvertiseAddress string `json:"advertiseAddress,omitempty"`
	// AllowFrom is where GitLab connects from: the managers' NetworkPolicy
	// admits the session port from there only (required with network.policies).
	AllowFrom SessionAllowFrom `json:"allowFrom"`
}

// SessionAllowFrom are the namespaces and addresses GitLab connects from.
type SessionAllowFrom struct {
	// Namespaces of this cluster GitLab's pods run in.
	Namespaces []string `json:"namespaces,omitempty"`
	// CIDRs GitLab connects from (outside the cluster).
	CIDRs []string `json:"cidrs,omitempty"`
}

// Session server defaults (those of the runner's documentation).
const (
	DefaultSessionPort    = 8093
	DefaultSessionTimeout = 1800
	// PodNamePlaceholder in config.toml's globals is replaced by the pod's
	// name when the entrypoint copies them: each manager advertises itself.
	PodNamePlaceholder = "@POD_NAME@"
)

// AdvertisedAddress is the session server's advertise_address: the one set,
// else the pod's own name through the fleet's headless Service (named as
// the fleet, in the managers' namespace).
func (s SessionServerSettings) AdvertisedAddress(fleet, namespace string) string {
	if s.AdvertiseAddress != "" {
		return s.AdvertiseAddress
	}
	return net.JoinHostPort(PodNamePlaceholder+"."+fleet+"."+namespace+".svc", strconv.Itoa(s.Port))
}

func (p *ManagerPodSettings) withDefaults() {
	// A copy: WithDefaults must not change the caller's settings.
	p.TopologySpread = slices.Clone(p.TopologySpread)
	for i := range p.TopologySpread {
		t := &p.TopologySpread[i]
		if t.MaxSkew == 0 {
			t.MaxSkew = 1
		}
		if t.WhenUnsatisfiable == "" {
			t.WhenUnsatisfiable = "ScheduleAnyway"
		}
	}
	if s := p.SessionServer; s != nil {
		c := *s
		if c.Port == 0 {
			c.Port = DefaultSessionPort
		}
		if c.SessionTimeout == 0 {
			c.SessionTimeout = DefaultSessionTimeout
		}
		p.SessionServer = &c
	}
}

// ManagerPaths are where the fleet mounts its own volumes in the manager
// container (package fleet; its tests check the list): a volume of the
// settings may be mounted neither there, nor above, nor below.
var ManagerPaths = []string{"/etc/gitlab-runner", "/tmp", "/configmaps", "/scripts", "/secrets", "/etc/gitlab-runner-ca", "/pre-entrypoint"}

// FleetEnv are the manager container's variables the fleet sets itself
// (package fleet; its tests check the list).
var FleetEnv = []string{"CI_SERVER_URL", "POD_NAME", "POD_NAMESPACE", "CONFIG_DIR", "TEMPLATE_DIR", "RUNNER_TOKEN_FILE",
	"REGISTER_BUDGET_SECONDS", "DRAIN_SECONDS", "HOME", "PRE_ENTRYPOINT_SCRIPT", "TOKEN_CHECK_SECONDS", "TOKEN_CHECK_FAILURES"}

// RunnerEnv are variables gitlab-runner reads from its environment outside
// the prefixes of runnerEnvPrefixes (its config's `env` tags and its
// commands' flags, in the release the lab builds; a test reads the runner's
// source for them).
var RunnerEnv = []string{"ARCHIVER_STAGING_DIR", "ARTIFACT_COMPRESSION_LEVEL", "CLONE_URL", "CONFIG_FILE", "CPU_PROFILE",
	"DISABLE_STRICT_HOST_KEY_CHECKING", "FEATURE_FLAGS", "GOOGLE_APPLICATION_CREDENTIALS", "KNOWN_HOSTS_FILE", "KUBECTL_CONTEXT",
	"LISTEN_ADDRESS", "LOG_FORMAT", "LOG_LEVEL", "LOG_SYSLOG", "REGISTRATION_TOKEN", "STEP_RUNNER_IMAGE", "TEMPLATE_CONFIG_FILE",
	"TRANSFER_METER_FREQUENCY"}

// runnerEnvPrefixes are the prefixes of the variables `gitlab-runner
// register` turns into a runner's configuration ([runners.kubernetes],
// [runners.cache], ...), of its feature flags, of the in-cluster client's
// API server (KUBERNETES_SERVICE_HOST), and of GitLab's own (CI_).
var runnerEnvPrefixes = []string{"CI_", "RUNNER_", "KUBERNETES_", "DOCKER_", "CACHE_", "REGISTER_", "FF_", "MACHINE_", "CUSTOM_",
	"SSH_", "VIRTUALBOX_", "PARALLELS_"}

// reservedPriorityClasses may only be used in kube-system.
var reservedPriorityClasses = []string{"system-node-critical", "system-cluster-critical"}

// maxPreEntrypointScript bounds the script (it lives in a ConfigMap).
const maxPreEntrypointScript = 64 * 1024

func (p ManagerPodSettings) validate(ps *Problems, path string, replicas int, network NetworkSettings) {
	at := func(field string) string { return path + "." + field }
	validateManagerEnv(ps, at("env"), p.Env)
	validateManagerVolumes(ps, at("volumes"), p.Volumes)
	if n := p.PriorityClassName; n != "" {
		checkDNS1123Subdomain(ps, at("priorityClassName"), n)
		if slices.Contains(reservedPriorityClasses, n) {
			ps.Add(at("priorityClassName"), "%q is only for pods of kube-system (the API server refuses it elsewhere); create a PriorityClass of your own", n)
		}
	}
	validateTopologySpread(ps, at("topologySpread"), p.TopologySpread)
	switch {
	case len(p.PreEntrypointScript) > maxPreEntrypointScript:
		ps.Add(at("preEntrypointScript"), "is %d bytes; at most %d: keep the script short, or ship it in the image", len(p.PreEntrypointScript), maxPreEntrypointScript)
	case strings.ContainsRune(p.PreEntrypointScript, 0):
		ps.Add(at("preEntrypointScript"), "holds a NUL byte: it must be a shell script's text")
	}
	if s := p.SessionServer; s != nil {
		s.validate(ps, at("sessionServer"), replicas, network)
	}
}

func validateManagerEnv(ps *Problems, path string, env []ManagerEnvVar) {
	seen := map[string]int{}
	for i, e := range env {
		at := fmt.Sprintf("%s[%d]", path, i)
		for _, msg := range validation.IsEnvVarName(e.Name) {
			ps.Add(at+".name", "%q: %s", e.Name, msg)
		}
		if first, dup := seen[e.Name]; dup {
			ps.Add(at+".name", "%q is already %s[%d]", e.Name, path, first)
		}
		seen[e.Name] = i
		if why := reservedEnv(e.Name); why != "" {
			ps.Add(at+".name", "%q %s", e.Name, why)
		}
		switch {
		case e.Secret != nil && e.Value != "":
			ps.Add(at, "has both value and secret; keep one")
		case e.Secret != nil:
			e.Secret.validate(ps, at+".secret")
			if e.Secret.Key == "" {
				ps.Add(at+".secret.key", "is required: the key of the Secret holding the value")
			}
		}
	}
}

// reservedEnv says why a manager variable may not be set, or "".
func reservedEnv(name string) string {
	upper := strings.ToUpper(name)
	switch {
	case slices.Contains(FleetEnv, name):
		return "is set by the fleet itself (the entrypoint reads it)"
	case slices.Contains(RunnerEnv, upper):
		return "is read by gitlab-runner and would change its configuration behind the fleet's settings and checks; use the fleet's setting for it"
	}
	for _, prefix := range runnerEnvPrefixes {
		if strings.HasPrefix(upper, prefix) {
			return fmt.Sprintf("starts with %s, which gitlab-runner (register and run) or the Kubernetes client read as configuration: it would bypass the fleet's settings and checks; use the fleet's setting for it", prefix)
		}
	}
	return ""
}

func validateManagerVolumes(ps *Problems, setting string, volumes []ManagerVolume) {
	names, mounts := map[string]int{}, map[string]int{}
	for i, v := range volumes {
		at := fmt.Sprintf("%s[%d]", setting, i)
		if v.Name == "" {
			ps.Add(at+".name", "is required: a DNS label naming the volume")
		} else {
			checkDNS1035(ps, at+".name", v.Name, 57) // the pod's volume is extra-<name>
		}
		if first, dup := names[v.Name]; dup && v.Name != "" {
			ps.Add(at+".name", "%q is already %s[%d]", v.Name, setting, first)
		}
		names[v.Name] = i
		sources := 0
		for _, set := range []bool{v.ConfigMap != "", v.Secret != "", v.PVC != "", v.EmptyDir != nil} {
			if set {
				sources++
			}
		}
		if sources != 1 {
			ps.Add(at, "needs exactly one source: configMap, secret, pvc or emptyDir (no hostPath: the managers' namespace enforces the restricted Pod Security level)")
		}
		for field, name := range map[string]string{"configMap": v.ConfigMap, "secret": v.Secret, "pvc": v.PVC} {
			if name != "" {
				checkDNS1123Subdomain(ps, at+"."+field, name)
			}
		}
		checkMount(ps, at, setting, i, mounts, mount{v.MountPath, v.SubPath, v.Items, v.ConfigMap != "" || v.Secret != "", v.EmptyDir},
			func(clean string) []string {
				var clashes []string
				for _, own := range ManagerPaths {
					if clean == own || strings.HasPrefix(clean, own+"/") || strings.HasPrefix(own, clean+"/") {
						clashes = append(clashes, "would hide or be hidden by the fleet's own mount "+own)
					}
				}
				return clashes
			})
	}
}

func validateTopologySpread(ps *Problems, path string, spread []TopologySpread) {
	seen := map[string]int{}
	for i, t := range spread {
		at := fmt.Sprintf("%s[%d]", path, i)
		if t.TopologyKey == "" {
			ps.Add(at+".topologyKey", "is required: a node label such as topology.kubernetes.io/zone")
		}
		for _, msg := range validation.IsQualifiedName(t.TopologyKey) {
			ps.Add(at+".topologyKey", "%q: %s", t.TopologyKey, msg)
		}
		if t.MaxSkew < 1 {
			ps.Add(at+".maxSkew", "must be at least 1, got %d", t.MaxSkew)
		}
		checkEnum(ps, at+".whenUnsatisfiable", t.WhenUnsatisfiable, []string{"ScheduleAnyway", "DoNotSchedule"})
		if m := t.MinDomains; m != nil {
			switch {
			case *m < 1:
				ps.Add(at+".minDomains", "must be at least 1, got %d", *m)
			case t.WhenUnsatisfiable != "DoNotSchedule":
				ps.Add(at+".minDomains", "needs whenUnsatisfiable: DoNotSchedule (the API server refuses it otherwise)")
			}
		}
		key := t.TopologyKey + "/" + t.WhenUnsatisfiable
		if first, dup := seen[key]; dup {
			ps.Add(at, "repeats %s[%d]'s topologyKey and whenUnsatisfiable (the API server refuses the pair twice)", path, first)
		}
		seen[key] = i
	}
}

func (s SessionServerSettings) validate(ps *Problems, path string, replicas int, network NetworkSettings) {
	at := func(field string) string { return path + "." + field }
	switch {
	case s.Port < 1024 || s.Port > 65535:
		ps.Add(at("port"), "must be between 1024 and 65535 (the manager runs as a non-root user), got %d", s.Port)
	case s.Port == MetricsPort:
		ps.Add(at("port"), "is the metrics port %d; pick another", MetricsPort)
	}
	checkRange(ps, at("sessionTimeout"), s.SessionTimeout, 1, 24*3600)
	if a := s.AdvertiseAddress; a != "" {
		host, port, err := net.SplitHostPort(a)
		if err != nil || host == "" || port == "" || strings.Contains(a, "://") {
			ps.Add(at("advertiseAddress"), "%q must be host:port, without a scheme (GitLab connects over https)", a)
		}
		if replicas > 1 {
			ps.Add(at("advertiseAddress"), "is one address for %d managers: GitLab connects to the address of the manager running the job, and one address in front of several managers "+
				"reaches any of them, not that one; leave advertiseAddress out (each manager then advertises its own name, <pod>.<fleet>.<namespace>.svc, which GitLab reaches "+
				"when it runs in this cluster), or set manager.replicas to 1", replicas)
		}
	}
	for _, ns := range s.AllowFrom.Namespaces {
		checkDNS1123(ps, at("allowFrom.namespaces"), ns)
	}
	for i, c := range s.AllowFrom.CIDRs {
		if _, err := netip.ParsePrefix(c); err != nil {
			ps.Add(fmt.Sprintf("%s[%d]", at("allowFrom.cidrs"), i), "%q is not an address range such as \"203.0.113.0/24\" or \"2001:db8::/32\"", c)
		}
	}
	if network.PoliciesOn() && len(s.AllowFrom.Namespaces) == 0 && len(s.AllowFrom.CIDRs) == 0 {
		ps.Add(at("allowFrom"), "is required with network.policies: the managers' NetworkPolicy admits the session port only from where GitLab connects "+
			"(allowFrom.namespaces: GitLab's namespace in this cluster, or allowFrom.cidrs: its addresses)")
	}
}

// managerPodReferences are the objects the manager pod settings name.
func (p ManagerPodSettings) references(path, namespace string) []Reference {
	var out []Reference
	for i, e := range p.Env {
		if e.Secret != nil {
			out = append(out, Reference{Path: fmt.Sprintf("%s.env[%d].secret", path, i), Kind: "Secret", Namespace: namespace, Name: e.Secret.Name, Key: e.Secret.Key})
		}
	}
	for i, v := range p.Volumes {
		at := fmt.Sprintf("%s.volumes[%d]", path, i)
		switch {
		case v.ConfigMap != "":
			out = append(out, Reference{Path: at + ".configMap", Kind: "ConfigMap", Namespace: namespace, Name: v.ConfigMap})
		case v.Secret != "":
			out = append(out, Reference{Path: at + ".secret", Kind: "Secret", Namespace: namespace, Name: v.Secret})
		case v.PVC != "":
			out = append(out, Reference{Path: at + ".pvc", Kind: "PersistentVolumeClaim", Namespace: namespace, Name: v.PVC})
		}
	}
	if p.PriorityClassName != "" {
		out = append(out, Reference{Path: path + ".priorityClassName", Kind: "PriorityClass", Name: p.PriorityClassName})
	}
	return out
}

package settings

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// JobService is a service every job gets ([[runners.kubernetes.services]]).
type JobService struct {
	// Name is the service's image (pinned, as job images are).
	Name string `json:"name"`
	// Alias is the host name jobs reach the service at (default: from the image).
	Alias string `json:"alias,omitempty"`
	// Command and Entrypoint replace the image's command and entrypoint.
	Command    []string `json:"command,omitempty"`
	Entrypoint []string `json:"entrypoint,omitempty"`
}

// DNSSettings are job pods' dnsConfig.
type DNSSettings struct {
	// Nameservers, Searches and Options are the job pods' DNS settings
	// (a pod's dnsConfig: name server addresses, search domains, resolver
	// options by name).
	Nameservers []string          `json:"nameservers,omitempty"`
	Searches    []string          `json:"searches,omitempty"`
	Options     map[string]string `json:"options,omitempty"`
}

// NodeRequirement is one match expression of the job pods' required node affinity.
type NodeRequirement struct {
	// Key is the node label the requirement reads.
	Key string `json:"key"`
	// Operator compares the label with Values.
	Operator string `json:"operator" enum:"In,NotIn,Exists,DoesNotExist,Gt,Lt"`
	// Values are the label values (none with Exists and DoesNotExist; one
	// number with Gt and Lt).
	Values []string `json:"values,omitempty"`
}

// HostAlias adds host names to job pods' /etc/hosts.
type HostAlias struct {
	// IP is the address the host names resolve to in job pods.
	IP string `json:"ip"`
	// Hostnames resolve to IP in job pods.
	Hostnames []string `json:"hostnames"`
}

// PodSpecPatchSettings is a patch of the job pods' spec, applied by the
// runner (FF_USE_ADVANCED_POD_SPEC_CONFIGURATION, which the fleet turns on).
type PodSpecPatchSettings struct {
	// Name names the patch (unique among the fleet's patches).
	Name string `json:"name"`
	// PatchType: strategic (default), merge or json.
	PatchType string `json:"patchType,omitempty" enum:"strategic,merge,json"`
	// Patch is JSON (or YAML) text.
	Patch string `json:"patch"`
}

// OverwriteSettings bound what a job's variables may change
// (KUBERNETES_CPU_LIMIT, KUBERNETES_SERVICE_ACCOUNT, ...).
type OverwriteSettings struct {
	// ServiceAccounts jobs may choose (also allowed by the admission policy).
	ServiceAccounts []string `json:"serviceAccounts,omitempty"`
	// BearerToken lets a job hand the runner a Kubernetes token of its own,
	// for its pods' API requests (they then bypass the fleet's RBAC and
	// admission policy, bound by that token's own rights).
	BearerToken bool `json:"bearerToken,omitempty"`
	// CPULimit, CPURequest, MemoryLimit and MemoryRequest are the largest
	// values a job's variables may ask for (KUBERNETES_CPU_LIMIT, ...;
	// the runner's *_overwrite_max_allowed); empty: the job cannot change them.
	CPULimit      string `json:"cpuLimit,omitempty"`
	CPURequest    string `json:"cpuRequest,omitempty"`
	MemoryLimit   string `json:"memoryLimit,omitempty"`
	MemoryRequest string `json:"memoryRequest,omitempty"`
	// Namespace cannot be allowed: the fleet grants rights, and contains
	// jobs, in its job namespace only.
	Namespace string `json:"namespace,omitempty"`
}

var (
	envNameRe      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	dnsPolicies    = enumOf[ExecutorSettings]("DNSPolicy")
	nodeOperators  = enumOf[NodeRequirement]("Operator")
	podPatchTypes  = enumOf[PodSpecPatchSettings]("PatchType")
	runnerEnvNames = []string{"CI_SERVER_URL", "CI_SERVER_TLS_CA_FILE", "DOCKER_HOST", "DOCKER_TLS_CERTDIR", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"}
)

// DefaultDockerInDockerImage is the docker:dind service of executor.dockerInDocker.
const DefaultDockerInDockerImage = "docker:27.5.1-dind"

// validateJobPolicy checks what jobs see and may ask for: their
// environment, the images and services they may use, default services, DNS,
// scheduling (priority class, scheduler, node affinity), extra host names,
// pod spec patches, and the bounds within which a .gitlab-ci.yml may raise
// its own resources.
func (e ExecutorSettings) validateJobPolicy(ps *Problems, path string) {
	at := func(f string) string { return path + "." + f }
	for _, name := range slices.Sorted(maps.Keys(e.Environment)) {
		if !envNameRe.MatchString(name) {
			ps.Add(at("environment"), "%q is not a variable name", name)
		}
		if e.DockerInDocker && slices.Contains(runnerEnvNames, name) {
			ps.Add(at("environment"), "%s is set by executor.dockerInDocker; remove it", name)
		}
	}
	for i, img := range e.AllowedImages {
		if strings.TrimSpace(img) == "" {
			ps.Add(fmt.Sprintf("%s[%d]", at("allowedImages"), i), "must not be empty")
		}
	}
	for i, img := range e.AllowedServices {
		if strings.TrimSpace(img) == "" {
			ps.Add(fmt.Sprintf("%s[%d]", at("allowedServices"), i), "must not be empty")
		}
	}
	aliases := map[string]bool{}
	for i, svc := range e.Services {
		p := fmt.Sprintf("%s[%d]", at("services"), i)
		checkImage(ps, p+".name", svc.Name)
		if svc.Alias != "" {
			for _, msg := range validation.IsDNS1123Label(svc.Alias) {
				ps.Add(p+".alias", "%q: %s", svc.Alias, msg)
			}
			if aliases[svc.Alias] || (e.DockerInDocker && svc.Alias == "docker") {
				ps.Add(p+".alias", "%q is already a service's alias", svc.Alias)
			}
			aliases[svc.Alias] = true
		}
	}
	if e.DNSPolicy != "" {
		checkEnum(ps, at("dnsPolicy"), e.DNSPolicy, dnsPolicies)
	}
	if d := e.DNSConfig; d != nil {
		for i, ns := range d.Nameservers {
			if net.ParseIP(ns) == nil {
				ps.Add(fmt.Sprintf("%s[%d]", at("dnsConfig.nameservers"), i), "%q is not an IP address", ns)
			}
		}
		if e.DNSPolicy == "None" && len(d.Nameservers) == 0 {
			ps.Add(at("dnsConfig.nameservers"), "are required with dnsPolicy None")
		}
	}
	if e.PriorityClassName != "" {
		checkDNS1123Subdomain(ps, at("priorityClassName"), e.PriorityClassName)
	}
	if e.SchedulerName != "" {
		checkDNS1123Subdomain(ps, at("schedulerName"), e.SchedulerName)
	}
	for i, r := range e.NodeAffinity {
		p := fmt.Sprintf("%s[%d]", at("nodeAffinity"), i)
		for _, msg := range validation.IsQualifiedName(r.Key) {
			ps.Add(p+".key", "%q: %s", r.Key, msg)
		}
		checkEnum(ps, p+".operator", r.Operator, nodeOperators)
		switch r.Operator {
		case "Exists", "DoesNotExist":
			if len(r.Values) > 0 {
				ps.Add(p+".values", "must be empty with operator %s", r.Operator)
			}
		default:
			if len(r.Values) == 0 {
				ps.Add(p+".values", "are required with operator %s", r.Operator)
			}
		}
	}
	for i, a := range e.HostAliases {
		p := fmt.Sprintf("%s[%d]", at("hostAliases"), i)
		if net.ParseIP(a.IP) == nil {
			ps.Add(p+".ip", "%q is not an IP address", a.IP)
		}
		if len(a.Hostnames) == 0 {
			ps.Add(p+".hostnames", "are required")
		}
		for _, h := range a.Hostnames {
			for _, msg := range validation.IsDNS1123Subdomain(h) {
				ps.Add(p+".hostnames", "%q: %s", h, msg)
			}
		}
	}
	names := map[string]bool{}
	for i, patch := range e.PodSpecPatches {
		p := fmt.Sprintf("%s[%d]", at("podSpecPatches"), i)
		if patch.Name == "" || names[patch.Name] {
			ps.Add(p+".name", "is required and must be unique")
		}
		names[patch.Name] = true
		checkEnum(ps, p+".patchType", cmp.Or(patch.PatchType, "strategic"), podPatchTypes)
		var v any
		if err := json.Unmarshal([]byte(patch.Patch), &v); err != nil {
			ps.Add(p+".patch", "must be JSON: %v", err)
		}
	}
	o := e.Overwrite
	if o.Namespace != "" {
		ps.Add(at("overwrite.namespace"), "cannot be allowed: the fleet grants the runner rights, and contains jobs, in its job namespace only; run a fleet per namespace instead")
	}
	for i, sa := range o.ServiceAccounts {
		checkDNS1123Subdomain(ps, fmt.Sprintf("%s[%d]", at("overwrite.serviceAccounts"), i), sa)
	}
	for name, q := range map[string]string{"cpuLimit": o.CPULimit, "cpuRequest": o.CPURequest, "memoryLimit": o.MemoryLimit, "memoryRequest": o.MemoryRequest} {
		parseQuantity(ps, at("overwrite."+name), q)
	}
	if e.DockerInDocker && !e.Privileged {
		ps.Add(at("dockerInDocker"), "needs privileged: true (the docker:dind service runs a Docker daemon), with its own node pool")
	}
	if e.DockerInDockerImage != "" {
		checkImage(ps, at("dockerInDockerImage"), e.DockerInDockerImage)
	}
}

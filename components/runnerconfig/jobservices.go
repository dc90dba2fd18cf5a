package runnerconfig

import (
	"fmt"
	"strings"

	"github.com/distribution/reference"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The services of a job pod as the runner's Kubernetes executor names them
// and makes them reachable (executors/kubernetes: prepareOptions,
// getServiceDefinition, createServicesHostAlias; helpers/container/services:
// SplitNameAndVersion).

// jobServiceContainers names the services' containers: a service's first
// alias that is a DNS-1123 label and not taken by an earlier service, else
// svc-N, counting only the services named so.
func jobServiceContainers(services []JobService) map[string]JobService {
	named := map[string]JobService{}
	used := map[string]bool{}
	index := 0
	for _, svc := range services {
		name := ""
		for _, alias := range svc.aliases() {
			if used[alias] {
				continue
			}
			used[alias] = true
			if len(validation.IsDNS1123Label(alias)) == 0 {
				name = alias
				break
			}
		}
		if name == "" {
			name = fmt.Sprintf("svc-%d", index)
			index++
		}
		named[name] = svc
	}
	return named
}

// aliases are the service's own aliases: its alias setting split at commas
// and spaces.
func (s JobService) aliases() []string {
	return strings.Fields(strings.ReplaceAll(s.Alias, ",", " "))
}

// hostnames are the names the service answers to in its job pod: those
// derived from its image's repository (the path with "/" as "__", and as
// "-"), then its aliases; only DNS-1123 subdomains.
func (s JobService) hostnames() []string {
	var names []string
	if m := reference.ReferenceRegexp.FindStringSubmatch(s.Image); m != nil {
		repository := withoutPort(m[1])
		derived := strings.ReplaceAll(repository, "/", "__")
		names = append(names, derived)
		if alternative := strings.ReplaceAll(repository, "/", "-"); alternative != derived {
			names = append(names, alternative)
		}
	}
	names = append(names, s.aliases()...)
	var valid []string
	for _, n := range names {
		if len(validation.IsDNS1123Subdomain(n)) == 0 {
			valid = append(valid, n)
		}
	}
	return valid
}

// jobPullPolicy is the pull policy of the job pod's containers: the first
// of pull_policy, else none (the API server's default).
func jobPullPolicy(policies []string) corev1.PullPolicy {
	if len(policies) == 0 {
		return ""
	}
	switch policies[0] {
	case "always":
		return corev1.PullAlways
	case "never":
		return corev1.PullNever
	case "if-not-present":
		return corev1.PullIfNotPresent
	}
	return corev1.PullPolicy(policies[0])
}

// withoutPort is a repository name without its registry's port
// (registry.example.com:5000/team/image: registry.example.com/team/image).
func withoutPort(repository string) string {
	host, path, hasPath := strings.Cut(repository, "/")
	if i := strings.LastIndexByte(host, ':'); i >= 0 && strings.Trim(host[i+1:], "0123456789") == "" {
		host = host[:i]
	}
	if hasPath {
		return host + "/" + path
	}
	return host
}

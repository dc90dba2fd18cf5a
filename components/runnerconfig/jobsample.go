package runnerconfig

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/distribution/reference"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/glrf/gitlab-runner-fleet/components/runnerversion"
)

// JobSample is the job a modelled pod is for: what GitLab hands the runner
// that shows in the pod (its identity in labels, annotations and paths, its
// timeout, its image and services). The configuration decides everything
// else.
type JobSample struct {
	ID, ProjectID, RootNamespaceID int64
	// Name is the job's name; ProjectName, ProjectNamespace and
	// ProjectNamespaceID its project's (CI_PROJECT_NAME,
	// CI_PROJECT_NAMESPACE, CI_PROJECT_NAMESPACE_ID; the root namespace is
	// ProjectNamespace's first part).
	Name, ProjectName, ProjectNamespace, ProjectNamespaceID string
	// URL, Ref, Sha and BeforeSha are the job's URL and commit.
	URL, Ref, Sha, BeforeSha string
	// TimeoutSeconds is the job's timeout (the runner's default, an hour,
	// when 0).
	TimeoutSeconds int
	// Image is the job's image; empty: the configuration's.
	Image string
	// Services are the job's own services (after the configured ones).
	Services []SampleService
}

// SampleService is one service of a job (.gitlab-ci.yml services:).
type SampleService struct {
	Name, Alias         string
	Entrypoint, Command []string
}

// DefaultJob is the job the fleet's checks build job pods for: a project's
// job with one service of its own.
var DefaultJob = JobSample{
	ID: 1, ProjectID: 1, RootNamespaceID: 1,
	Name: "build", ProjectName: "project", ProjectNamespace: "group", ProjectNamespaceID: "1",
	URL: "https://gitlab.example.com/group/project/-/jobs/1", Ref: "main",
	Sha: strings.Repeat("0", 40), BeforeSha: strings.Repeat("0", 40), TimeoutSeconds: 3600,
	Services: []SampleService{{Name: "registry.example.com/service:1", Alias: "service"}},
}

// defaultJobTimeout is the runner's job timeout when GitLab sends none
// (common.DefaultTimeout).
const defaultJobTimeout = 3600

func (j JobSample) timeout() int {
	if j.TimeoutSeconds > 0 {
		return j.TimeoutSeconds
	}
	return defaultJobTimeout
}

// uniqueName is the runner's ProjectUniqueName for the first concurrent job
// of the project on a manager (the pod's name without its random suffix).
func (j JobSample) uniqueName(shortToken string) string {
	return fmt.Sprintf("runner-%s-project-%d-concurrent-0", shortToken, j.ProjectID)
}

// jobLabels are the runner's buildLabels: its own, then the configured
// pod_labels outside its runner.gitlab.com namespace.
func jobLabels(k KubernetesConfig, j JobSample, manager, shortToken string, v runnerversion.Version) map[string]string {
	root, _, _ := strings.Cut(j.ProjectNamespace, "/")
	labels := map[string]string{
		"pod":                                      j.uniqueName(shortToken),
		"project.runner.gitlab.com/id":             strconv.FormatInt(j.ProjectID, 10),
		"project.runner.gitlab.com/namespace-id":   j.ProjectNamespaceID,
		"project.runner.gitlab.com/name":           j.ProjectName,
		"project.runner.gitlab.com/namespace":      j.ProjectNamespace,
		"project.runner.gitlab.com/root-namespace": root,
		"job.runner.gitlab.com/pod":                j.uniqueName(shortToken),
		"manager.runner.gitlab.com/name":           manager,
		"manager.runner.gitlab.com/id-short":       shortToken,
	}
	if v.AtLeast(19, 4) {
		labels["project.runner.gitlab.com/root-namespace-id"] = strconv.FormatInt(j.RootNamespaceID, 10)
	}
	for key, value := range k.PodLabels {
		if !runnerLabelNamespace.MatchString(key) {
			labels[key] = value
		}
	}
	return labels
}

// runnerLabelNamespace matches label keys the runner keeps for itself.
var runnerLabelNamespace = regexp.MustCompile(`(?i)(^|.*\.)runner\.gitlab\.com(/.*|$)`)

// jobAnnotations are the runner's buildPodAnnotations, then pod_annotations.
func jobAnnotations(k KubernetesConfig, j JobSample) map[string]string {
	annotations := map[string]string{
		"job.runner.gitlab.com/id":         strconv.FormatInt(j.ID, 10),
		"job.runner.gitlab.com/url":        j.URL,
		"job.runner.gitlab.com/sha":        j.Sha,
		"job.runner.gitlab.com/before_sha": j.BeforeSha,
		"job.runner.gitlab.com/ref":        j.Ref,
		"job.runner.gitlab.com/name":       j.Name,
		"job.runner.gitlab.com/timeout":    (time.Duration(j.timeout()) * time.Second).String(),
		"project.runner.gitlab.com/id":     strconv.FormatInt(j.ProjectID, 10),
	}
	for key, value := range k.PodAnnotations {
		annotations[key] = value
	}
	return annotations
}

// podService is a service container to be: its name and definition.
type podService struct {
	name string
	SampleService
}

// jobServices are the configured services, then the job's, each named as
// the runner names its container (prepareOptions, getServiceName): after its
// first alias that is a DNS label not taken yet, else svc-<n>; in name order
// (the runner keeps them in a map and sorts its keys).
func jobServices(k KubernetesConfig, j JobSample) []podService {
	var all []SampleService
	for _, s := range k.Services {
		all = append(all, SampleService{Name: s.Name, Alias: s.Alias, Entrypoint: s.Entrypoint, Command: s.Command})
	}
	all = append(all, j.Services...)
	used := map[string]bool{}
	index := 0
	var out []podService
	for _, s := range all {
		if s.Name == "" {
			continue
		}
		name := ""
		for _, alias := range s.aliases() {
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
		out = append(out, podService{name: name, SampleService: s})
	}
	slices.SortFunc(out, func(a, b podService) int { return strings.Compare(a.name, b.name) })
	return out
}

// aliases are a service's aliases: its alias setting split on commas and
// spaces.
func (s SampleService) aliases() []string {
	return strings.Fields(strings.ReplaceAll(s.Alias, ",", " "))
}

// jobHostAliases are the runner's createHostAliases: one entry for
// 127.0.0.1 naming every service (the host names derived from its image that
// are DNS subdomains, then its aliases), then the configured host_aliases.
func jobHostAliases(k KubernetesConfig, services []podService) []corev1.HostAlias {
	var names []string
	for _, s := range services {
		for _, name := range imageHostNames(s.Name) {
			if len(validation.IsDNS1123Subdomain(name)) == 0 {
				names = append(names, name)
			}
		}
		names = append(names, s.aliases()...)
	}
	var out []corev1.HostAlias
	if len(names) > 0 {
		out = append(out, corev1.HostAlias{IP: "127.0.0.1", Hostnames: names})
	}
	for _, h := range k.HostAliases {
		out = append(out, corev1.HostAlias{IP: h.IP, Hostnames: h.Hostnames})
	}
	return out
}

// registryPort matches the port of an image's registry host.
var registryPort = regexp.MustCompile(`^(.*?)(|:[0-9]+)(|/.*)$`)

// imageHostNames are the host names the runner derives from a service image
// (helpers/container/services): its repository without tag and registry
// port, with "/" as "__", and as "-" when that differs.
func imageHostNames(image string) []string {
	m := reference.ReferenceRegexp.FindStringSubmatch(image)
	if m == nil {
		return nil
	}
	parts := registryPort.FindStringSubmatch(m[1])
	repository := parts[1] + parts[3]
	names := []string{strings.ReplaceAll(repository, "/", "__")}
	if dashed := strings.ReplaceAll(repository, "/", "-"); dashed != names[0] {
		names = append(names, dashed)
	}
	return names
}

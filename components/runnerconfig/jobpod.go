package runnerconfig

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/utils/ptr"

	"github.com/glrf/gitlab-runner-fleet/components/runnerversion"
)

// JobPod builds the pod GitLab Runner's Kubernetes executor creates for a job
// from a [[runners]] entry, as far as the entry decides it. The local nodes
// never run the runner, so this is how the fleet proves, before anything is
// created and in its tests, that the job pods its configuration makes are
// admitted by the job namespace's Pod Security level and by the API server.
//
// It follows executors/kubernetes/kubernetes.go and common/config.go of the
// runner at v18.6.0 and v19.3.0, which agree on all of this:
//
//   - buildInitContainers: an "init-permissions" init container (helper image)
//     unless FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY; its security context
//     is GetContainerSecurityContext(init_permissions_container_security_context,
//     "NET_RAW") with no user or group added.
//   - createBuildAndHelperContainers, preparePodServices: the "build",
//     "helper" and "svc-N" containers, each with getSecurityContextWithUIDGID:
//     GetContainerSecurityContext(<container>_security_context, "NET_RAW"),
//     then run_as_user/run_as_group from that context, else from
//     pod_security_context, else from the job's image options (left out here:
//     the job decides them, not the configuration).
//   - GetContainerSecurityContext: capabilities = the default drop (NET_RAW)
//     and cap_add/cap_drop, replaced list by list by the context's own
//     (mergeCapabilitiesAddDrop); privileged and allow_privilege_escalation
//     from the context, else from the [runners.kubernetes] keys of the same
//     name; run_as_non_root, run_as_user, run_as_group and (18.11+)
//     seccomp_profile from the context.
//   - the containers' resources from the configuration's requests and limits
//     (configurationOverwrites): cpu_/memory_/ephemeral_storage_ for build,
//     helper_* for helper and init-permissions (initContainerResources),
//     service_* for services.
//   - preparePodConfig: the pod's service account, automount flag, node
//     selector, tolerations, grace period and GetPodSecurityContext
//     (pod_security_context, or nil when it sets nothing); getVolumes: the
//     "repo", "scripts" and "logs" emptyDirs.
//   - getPullPolicies: the first of pull_policy (always, if-not-present,
//     never), else none (the API server's default).
//   - prepareOptions, getServiceName, preparePodServices: services are the
//     configured ones, then the job's; each container is named after the
//     service's first alias that is a DNS-1123 label not used before, else
//     svc-N; containers sorted by name. createHostAliases: 127.0.0.1 for
//     every service's names (image-derived and aliases) that are DNS-1123
//     subdomains, before the configured host_aliases.
//   - getPodActiveDeadlineSeconds: with FF_USE_POD_ACTIVE_DEADLINE_SECONDS (on
//     by default) the job's timeout plus one second; GetAffinity: an affinity,
//     empty unless node_affinities are configured.
//   - setupBuildPod / applyPodSpecMerge: with FF_USE_ADVANCED_POD_SPEC_CONFIGURATION,
//     every [[runners.kubernetes.pod_spec]] patch applied in order to the pod
//     spec (strategic merge patches; the fleet renders no other kind).
type JobPodOptions struct {
	// Services is the number of services without an alias a job adds
	// (containers svc-0, svc-1, ...).
	Services int
	// JobServices are services a job adds with their image and alias.
	JobServices []JobService
	// Timeout is the job's timeout in seconds, which becomes the pod's
	// activeDeadlineSeconds (plus one); zero is GitLab's default, one hour.
	Timeout int
	// HelperImage stands for the helper image the runner picks for its
	// release when the configuration names none (helper_image).
	HelperImage string
}

// JobService is a service of a job's .gitlab-ci.yml.
type JobService struct {
	Image string
	Alias string
}

// defaultJobTimeout is GitLab's default job timeout (a project's, one hour).
const defaultJobTimeout = 3600

// Container names the runner gives job pod containers.
const (
	jobBuildContainer     = "build"
	jobHelperContainer    = "helper"
	jobInitPermsContainer = "init-permissions"
)

// JobPod returns the pod the runner release v would create for a job.
func JobPod(r RunnerConfig, v runnerversion.Version, opts JobPodOptions) (*corev1.Pod, error) {
	k := r.Kubernetes
	ff := func(name string) bool { return r.FeatureFlags[name] }
	// The configured helper_image, else the release's own.
	helperImage := cmp.Or(k.HelperImage, opts.HelperImage)
	if helperImage == "" {
		helperImage = "registry.gitlab.com/gitlab-org/gitlab-runner/gitlab-runner-helper:x86_64-" + v.String()
	}
	mounts := []corev1.VolumeMount{{Name: "scripts", MountPath: "/scripts-1-1"}, {Name: "logs", MountPath: "/logs-1-1"}}
	volumes := []corev1.Volume{emptyDirVolume("repo"), emptyDirVolume("scripts"), emptyDirVolume("logs")}
	if ff(runnerversion.FFLegacyExecution) {
		mounts = nil
		volumes = []corev1.Volume{emptyDirVolume("repo")}
	}
	// getVolumesForConfig and getVolumeMountsForConfig: configured volumes,
	// mounted into every container, before the builds directory.
	configVolumes, configMounts := jobVolumes(k.Volumes)
	volumes = append(configVolumes, volumes...)
	mounts = append(append(mounts, configMounts...), corev1.VolumeMount{Name: "repo", MountPath: "/builds"})

	build := jobResources(k.CPURequest, k.CPULimit, k.MemoryRequest, k.MemoryLimit, k.EphemeralStorageRequest, k.EphemeralStorageLimit)
	helper := jobResources(k.HelperCPURequest, k.HelperCPULimit, k.HelperMemoryRequest, k.HelperMemoryLimit, k.HelperEphemeralStorageRequest, k.HelperEphemeralStorageLimit)
	service := jobResources(k.ServiceCPURequest, k.ServiceCPULimit, k.ServiceMemoryRequest, k.ServiceMemoryLimit, k.ServiceEphemeralStorageRequest, k.ServiceEphemeralStorageLimit)
	pullPolicy := jobPullPolicy(k.PullPolicy)
	container := func(name, image string, sc *ContainerSecurityContext, withIDs bool, resources corev1.ResourceRequirements) corev1.Container {
		return corev1.Container{
			Name:            name,
			Image:           image,
			ImagePullPolicy: pullPolicy,
			Command:         []string{"sh"},
			VolumeMounts:    mounts,
			SecurityContext: jobContainerSecurityContext(k, sc, withIDs),
			Resources:       resources,
			Stdin:           true,
		}
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:        "runner-abcdefgh-project-1-concurrent-0-xyz",
			Namespace:   k.Namespace,
			Labels:      withEntry(k.PodLabels, "pod", "runner-abcdefgh-project-1-concurrent-0"),
			Annotations: withEntry(k.PodAnnotations, "job.runner.gitlab.com/id", "1"),
		},
		Spec: corev1.PodSpec{
			Volumes:                       volumes,
			ServiceAccountName:            k.ServiceAccount,
			AutomountServiceAccountToken:  k.AutomountServiceAccountToken,
			RestartPolicy:                 corev1.RestartPolicyNever,
			NodeSelector:                  k.NodeSelector,
			Tolerations:                   jobTolerations(k.NodeTolerations),
			TerminationGracePeriodSeconds: int64Of(k.PodTerminationGracePeriodSeconds),
			SecurityContext:               jobPodSecurityContext(k.PodSecurityContext),
		},
	}
	if !ff(runnerversion.FFLegacyExecution) {
		init := container(jobInitPermsContainer, helperImage, k.InitPermissionsContainerSecurityContext, false, helper)
		init.Stdin = false
		init.Command = []string{"sh", "-c", "touch /logs-1-1/output.log && (chmod 777 /logs-1-1/output.log || exit 0)"}
		pod.Spec.InitContainers = []corev1.Container{init}
	}
	pod.Spec.Containers = []corev1.Container{
		container(jobBuildContainer, k.Image, k.BuildContainerSecurityContext, true, build),
		container(jobHelperContainer, helperImage, k.HelperContainerSecurityContext, true, helper),
	}
	// Services: the configured ones, then those a job's .gitlab-ci.yml adds.
	services := []JobService{}
	for _, svc := range k.Services {
		services = append(services, JobService{Image: svc.Name, Alias: svc.Alias})
	}
	services = append(services, opts.JobServices...)
	for range opts.Services {
		services = append(services, JobService{Image: "registry.example.com/service:1"})
	}
	named := jobServiceContainers(services)
	var serviceHosts []string
	for _, name := range slices.Sorted(maps.Keys(named)) {
		svc := named[name]
		pod.Spec.Containers = append(pod.Spec.Containers,
			container(name, svc.Image, k.ServiceContainerSecurityContext, true, service))
		serviceHosts = append(serviceHosts, svc.hostnames()...)
	}
	if len(serviceHosts) > 0 {
		pod.Spec.HostAliases = []corev1.HostAlias{{IP: "127.0.0.1", Hostnames: serviceHosts}}
	}
	if on, set := r.FeatureFlags[runnerversion.FFPodActiveDeadline]; on || !set {
		timeout := opts.Timeout
		if timeout == 0 {
			timeout = defaultJobTimeout
		}
		pod.Spec.ActiveDeadlineSeconds = ptr.To(int64(timeout + 1))
	}
	// preparePodConfig's scheduling and DNS fields.
	pod.Spec.SchedulerName, pod.Spec.PriorityClassName = k.SchedulerName, k.PriorityClassName
	pod.Spec.DNSPolicy = corev1.DNSPolicy(k.DNSPolicy)
	if d := k.DNSConfig; d != nil {
		pod.Spec.DNSConfig = &corev1.PodDNSConfig{Nameservers: d.Nameservers, Searches: d.Searches}
		for _, o := range d.Options {
			value := o.Value
			pod.Spec.DNSConfig.Options = append(pod.Spec.DNSConfig.Options, corev1.PodDNSConfigOption{Name: o.Name, Value: &value})
		}
	}
	pod.Spec.Affinity = &corev1.Affinity{}
	if a := k.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.Required != nil {
		var terms []corev1.NodeSelectorTerm
		for _, t := range a.NodeAffinity.Required.Terms {
			var term corev1.NodeSelectorTerm
			for _, r := range t.MatchExpressions {
				term.MatchExpressions = append(term.MatchExpressions, corev1.NodeSelectorRequirement{Key: r.Key, Operator: corev1.NodeSelectorOperator(r.Operator), Values: r.Values})
			}
			terms = append(terms, term)
		}
		pod.Spec.Affinity.NodeAffinity = &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms}}
	}
	for _, h := range k.HostAliases {
		pod.Spec.HostAliases = append(pod.Spec.HostAliases, corev1.HostAlias{IP: h.IP, Hostnames: h.Hostnames})
	}
	for _, name := range k.ImagePullSecrets {
		pod.Spec.ImagePullSecrets = append(pod.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: name})
	}
	if ff(runnerversion.FFAdvancedPodSpec) {
		spec, err := applyPodSpecPatches(pod.Spec, k.PodSpec)
		if err != nil {
			return nil, err
		}
		pod.Spec = spec
	}
	return pod, nil
}

// jobContainerSecurityContext is the runner's GetContainerSecurityContext,
// plus the user and group getSecurityContextWithUIDGID adds when withIDs.
func jobContainerSecurityContext(k KubernetesConfig, sc *ContainerSecurityContext, withIDs bool) *corev1.SecurityContext {
	if sc == nil {
		sc = &ContainerSecurityContext{}
	}
	out := &corev1.SecurityContext{
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"NET_RAW"}},
		Privileged:               sc.Privileged,
		AllowPrivilegeEscalation: sc.AllowPrivilegeEscalation,
		RunAsNonRoot:             sc.RunAsNonRoot,
	}
	if out.Privileged == nil {
		out.Privileged = ptr.To(k.Privileged)
	}
	if c := sc.Capabilities; c != nil {
		if c.Add != nil {
			out.Capabilities.Add = capabilities(c.Add)
		}
		if c.Drop != nil {
			out.Capabilities.Drop = capabilities(c.Drop)
		}
	}
	if withIDs && k.PodSecurityContext != nil {
		out.RunAsUser, out.RunAsGroup = k.PodSecurityContext.RunAsUser, k.PodSecurityContext.RunAsGroup
	}
	return out
}

// jobPodSecurityContext is the runner's GetPodSecurityContext: nil when the
// table sets nothing.
func jobPodSecurityContext(p *PodSecurityContext) *corev1.PodSecurityContext {
	if p == nil || (p.RunAsNonRoot == nil && p.RunAsUser == nil && p.RunAsGroup == nil && p.FSGroup == nil && p.SeccompProfile == nil) {
		return nil
	}
	out := &corev1.PodSecurityContext{RunAsNonRoot: p.RunAsNonRoot, RunAsUser: p.RunAsUser, RunAsGroup: p.RunAsGroup, FSGroup: p.FSGroup}
	if p.SeccompProfile != nil && p.SeccompProfile.Type != "" {
		out.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileType(p.SeccompProfile.Type)}
	}
	return out
}

// jobTolerations is the runner's getPodTolerations: "key=value" is operator
// Equal, a bare key is operator Exists.
func jobTolerations(table map[string]string) []corev1.Toleration {
	var out []corev1.Toleration
	for _, keyValue := range slices.Sorted(maps.Keys(table)) {
		t := corev1.Toleration{Key: keyValue, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffect(table[keyValue])}
		if key, value, ok := strings.Cut(keyValue, "="); ok {
			t.Key, t.Value, t.Operator = key, value, corev1.TolerationOpEqual
		}
		out = append(out, t)
	}
	return out
}

// applyPodSpecPatches is the runner's applyPodSpecMerge for strategic merge patches.
func applyPodSpecPatches(spec corev1.PodSpec, patches []PodSpecPatch) (corev1.PodSpec, error) {
	data, err := json.Marshal(spec)
	if err != nil {
		return spec, err
	}
	for _, p := range patches {
		if p.PatchType != "strategic" {
			return spec, fmt.Errorf("pod_spec patch %q: patch type %q is not modelled", p.Name, p.PatchType)
		}
		if data, err = strategicpatch.StrategicMergePatch(data, []byte(p.Patch), corev1.PodSpec{}); err != nil {
			return spec, fmt.Errorf("pod_spec patch %q: %w", p.Name, err)
		}
	}
	var out corev1.PodSpec
	return out, json.Unmarshal(data, &out)
}

// jobVolumes are the configured volumes and their mounts.
func jobVolumes(v *KubernetesVolumes) ([]corev1.Volume, []corev1.VolumeMount) {
	if v == nil {
		return nil, nil
	}
	var volumes []corev1.Volume
	var mounts []corev1.VolumeMount
	add := func(name, mountPath, subPath string, readOnly bool, source corev1.VolumeSource) {
		volumes = append(volumes, corev1.Volume{Name: name, VolumeSource: source})
		mounts = append(mounts, corev1.VolumeMount{Name: name, MountPath: mountPath, SubPath: subPath, ReadOnly: readOnly})
	}
	items := func(m map[string]string) []corev1.KeyToPath {
		var out []corev1.KeyToPath
		for _, k := range slices.Sorted(maps.Keys(m)) {
			out = append(out, corev1.KeyToPath{Key: k, Path: m[k]})
		}
		return out
	}
	for _, c := range v.ConfigMaps {
		add(c.Name, c.MountPath, c.SubPath, c.ReadOnly, corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: c.Name}, Items: items(c.Items)}})
	}
	for _, c := range v.Secrets {
		add(c.Name, c.MountPath, c.SubPath, c.ReadOnly, corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: c.Name, Items: items(c.Items)}})
	}
	for _, c := range v.PVCs {
		add(c.Name, c.MountPath, c.SubPath, c.ReadOnly, corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c.Name, ReadOnly: c.ReadOnly}})
	}
	for _, c := range v.EmptyDirs {
		source := &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMedium(c.Medium)}
		if c.SizeLimit != "" {
			q := k8sresource.MustParse(c.SizeLimit)
			source.SizeLimit = &q
		}
		add(c.Name, c.MountPath, c.SubPath, false, corev1.VolumeSource{EmptyDir: source})
	}
	for _, c := range v.HostPaths {
		add(c.Name, c.MountPath, c.SubPath, c.ReadOnly, corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: c.HostPath}})
	}
	for _, c := range v.CSIs {
		fsType := c.FSType
		source := &corev1.CSIVolumeSource{Driver: c.Driver, ReadOnly: &c.ReadOnly, VolumeAttributes: c.VolumeAttributes}
		if fsType != "" {
			source.FSType = &fsType
		}
		add(c.Name, c.MountPath, c.SubPath, c.ReadOnly, corev1.VolumeSource{CSI: source})
	}
	return volumes, mounts
}

// jobResources are a container's requests and limits as the runner parses
// them from the configuration (an empty value sets nothing).
func jobResources(cpuRequest, cpuLimit, memoryRequest, memoryLimit, storageRequest, storageLimit string) corev1.ResourceRequirements {
	list := func(values map[corev1.ResourceName]string) corev1.ResourceList {
		out := corev1.ResourceList{}
		for name, v := range values {
			if v != "" {
				out[name] = k8sresource.MustParse(v)
			}
		}
		return out
	}
	return corev1.ResourceRequirements{
		Requests: list(map[corev1.ResourceName]string{corev1.ResourceCPU: cpuRequest, corev1.ResourceMemory: memoryRequest, corev1.ResourceEphemeralStorage: storageRequest}),
		Limits:   list(map[corev1.ResourceName]string{corev1.ResourceCPU: cpuLimit, corev1.ResourceMemory: memoryLimit, corev1.ResourceEphemeralStorage: storageLimit}),
	}
}

func emptyDirVolume(name string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
}

func capabilities(names []string) []corev1.Capability {
	out := make([]corev1.Capability, len(names))
	for i, n := range names {
		out[i] = corev1.Capability(n)
	}
	return out
}

// int64Of is v as an int64, nil when v is.
func int64Of(v *int) *int64 {
	if v == nil {
		return nil
	}
	return ptr.To(int64(*v))
}

// withEntry is a copy of m with key set to value.
func withEntry(m map[string]string, key, value string) map[string]string {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]string{}
	}
	out[key] = value
	return out
}

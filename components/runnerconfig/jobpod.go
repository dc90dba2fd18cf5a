package runnerconfig

import (
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

// JobPod builds the pod GitLab Runner's Kubernetes executor creates for a
// job from a [[runners]] entry. The local nodes never run the runner's job
// pods, so this model is how the fleet proves, before anything is created,
// that the job pods its configuration makes are admitted by the job
// namespace's Pod Security level, fit its quota and pass its admission
// policy; tools/runnerlab compares it, field by field, with the pod the
// runner's own executor builds for every committed stack.
//
// It follows executors/kubernetes of the runner (v19.3.0, and the 19.4
// pre-release the lab builds, which differ only in one label):
//
//   - setupBuildPod, preparePodConfig: labels (buildLabels), annotations
//     (buildPodAnnotations), the service account and automount flag, node
//     selector, tolerations, affinity (always set, empty unless configured),
//     DNS policy (ClusterFirst unless configured) and config, host aliases,
//     priority, scheduler and runtime class, termination grace period,
//     activeDeadlineSeconds (the job timeout + 1 while
//     FF_USE_POD_ACTIVE_DEADLINE_SECONDS, on by default), pod-level
//     resources (always set), the pod security context (nil when the
//     configuration sets none), pull Secrets, and with
//     FF_USE_ADVANCED_POD_SPEC_CONFIGURATION the pod_spec patches;
//   - buildInitContainers: "init-build-uid-gid-collector" (the build image,
//     with FF_DISABLE_UMASK_FOR_KUBERNETES_EXECUTOR), then "init-permissions"
//     (the helper image; unless FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY
//     without FF_USE_DUMB_INIT_WITH_KUBERNETES_EXECUTOR);
//   - createBuildAndHelperContainers, preparePodServices, buildContainer:
//     "build" (the job's image, else the configuration's), "helper"
//     (helper_image, else the release's helper image for the node
//     selector's architecture), and a container per service named after its
//     alias (getServiceName), in name order; each with the first configured
//     pull policy, the runner's shell detection command (build and helper),
//     its resources, every volume mount and the security context
//     (getSecurityContextWithUIDGID: the container's context with NET_RAW
//     dropped by default, then run_as_user/run_as_group from it, else from
//     pod_security_context; init-permissions gets the context alone);
//   - getVolumes, getVolumeMounts: the configured volumes by kind (host
//     paths, Secrets, PVCs, ConfigMaps, emptyDirs, CSI, NFS), then "repo"
//     (the builds directory), "scripts" and "logs" (per project and job).
//
// Not modelled, because no check of the fleet reads them: the containers'
// environment (the job's variables). The shell detection command is
// ShellDetection here, the runner's own script there.
func JobPod(r RunnerConfig, v runnerversion.Version, opts JobPodOptions) (*corev1.Pod, error) {
	k := r.Kubernetes
	job := opts.job()
	flags := flagsOf(r)
	legacy := flags.on(runnerversion.FFLegacyExecution)
	dumbInit := flags.on(runnerversion.FFDumbInit)
	honorEntrypoint := flags.on(runnerversion.FFHonorEntrypoint)
	if honorEntrypoint && legacy {
		return nil, fmt.Errorf("%s with %s (a startup probe on the build container) is not modelled", runnerversion.FFHonorEntrypoint, runnerversion.FFLegacyExecution)
	}
	paths := jobPaths(r, job)
	volumes, mounts := jobVolumes(k.Volumes, paths, legacy, dumbInit)
	helperImage := jobHelperImage(k, v)
	services := jobServices(k, job)
	shortToken := opts.shortToken()

	pull := corev1.PullPolicy("")
	if len(k.PullPolicy) > 0 {
		pull = kubernetesPullPolicy(k.PullPolicy[0])
	}
	build := jobResources(k.CPURequest, k.CPULimit, k.MemoryRequest, k.MemoryLimit, k.EphemeralStorageRequest, k.EphemeralStorageLimit)
	helper := jobResources(k.HelperCPURequest, k.HelperCPULimit, k.HelperMemoryRequest, k.HelperMemoryLimit, k.HelperEphemeralStorageRequest, k.HelperEphemeralStorageLimit)
	service := jobResources(k.ServiceCPURequest, k.ServiceCPULimit, k.ServiceMemoryRequest, k.ServiceMemoryLimit, k.ServiceEphemeralStorageRequest, k.ServiceEphemeralStorageLimit)

	shellCommand := []string{"sh", "-c", ShellDetection}
	if dumbInit {
		shellCommand = append([]string{paths.scripts + "/dumb-init", "--"}, shellCommand...)
	}
	// getCommandAndArgs: with FF_KUBERNETES_HONOR_ENTRYPOINT the image's
	// entrypoint runs, and the runner's command becomes its arguments.
	commandAndArgs := func(command []string, s SampleService) ([]string, []string) {
		if honorEntrypoint {
			return []string{}, command
		}
		if len(command) == 0 && len(s.Entrypoint) > 0 {
			command = s.Entrypoint
		}
		return command, s.Command
	}
	container := func(name, image string, command []string, s SampleService, sc *ContainerSecurityContext, resources corev1.ResourceRequirements) corev1.Container {
		c := corev1.Container{
			Name:            name,
			Image:           image,
			ImagePullPolicy: pull,
			VolumeMounts:    mounts,
			SecurityContext: jobContainerSecurityContext(k, sc, true),
			Resources:       resources,
			Stdin:           true,
		}
		c.Command, c.Args = commandAndArgs(command, s)
		return c
	}

	buildImage := job.Image
	if buildImage == "" {
		buildImage = k.Image
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			// The runner appends a random suffix of 8 characters.
			Name:        job.uniqueName(shortToken),
			Namespace:   k.Namespace,
			Labels:      jobLabels(k, job, opts.manager(), shortToken, v),
			Annotations: jobAnnotations(k, job),
		},
		Spec: corev1.PodSpec{
			Volumes:                       volumes,
			SchedulerName:                 k.SchedulerName,
			ServiceAccountName:            k.ServiceAccount,
			AutomountServiceAccountToken:  k.AutomountServiceAccountToken,
			RestartPolicy:                 corev1.RestartPolicyNever,
			NodeSelector:                  k.NodeSelector,
			Tolerations:                   jobTolerations(k.NodeTolerations),
			TerminationGracePeriodSeconds: int64Of(k.PodTerminationGracePeriodSeconds),
			SecurityContext:               jobPodSecurityContext(k.PodSecurityContext),
			HostAliases:                   jobHostAliases(k, services),
			Affinity:                      jobAffinity(k.Affinity),
			DNSPolicy:                     jobDNSPolicy(k.DNSPolicy),
			DNSConfig:                     jobDNSConfig(k.DNSConfig),
			RuntimeClassName:              ptrUnlessEmpty(k.RuntimeClassName),
			PriorityClassName:             k.PriorityClassName,
			Resources: &corev1.ResourceRequirements{
				Requests: resourceList(map[corev1.ResourceName]string{corev1.ResourceCPU: k.PodCPURequest, corev1.ResourceMemory: k.PodMemoryRequest}),
				Limits:   resourceList(map[corev1.ResourceName]string{corev1.ResourceCPU: k.PodCPULimit, corev1.ResourceMemory: k.PodMemoryLimit}),
			},
		},
	}
	if flags.on(runnerversion.FFPodActiveDeadline) {
		pod.Spec.ActiveDeadlineSeconds = ptr.To(int64(job.timeout() + 1))
	}

	if flags.on(runnerversion.FFDisableUmask) {
		c := container("init-build-uid-gid-collector", buildImage, nil, SampleService{}, k.BuildContainerSecurityContext, build)
		// The pull manager knows no policy for this container: the cluster's default.
		c.Command, c.Args, c.Stdin, c.ImagePullPolicy = []string{"sh", "-c", "> " + paths.builds + "/.gitlab-build-uid-gid"}, nil, false, ""
		pod.Spec.InitContainers = append(pod.Spec.InitContainers, c)
	}
	if !legacy || dumbInit {
		var steps []string
		if !legacy {
			steps = append(steps, fmt.Sprintf("touch %[1]s && (chmod 777 %[1]s || exit 0)", paths.logs+"/output.log"))
		}
		if dumbInit {
			steps = append(steps, "cp /usr/bin/dumb-init "+paths.scripts)
		}
		pod.Spec.InitContainers = append(pod.Spec.InitContainers, corev1.Container{
			Name:            "init-permissions",
			Image:           helperImage,
			Command:         []string{"sh", "-c", strings.Join(steps, ";\n")},
			ImagePullPolicy: pull,
			VolumeMounts:    mounts,
			SecurityContext: jobContainerSecurityContext(k, k.InitPermissionsContainerSecurityContext, false),
			Resources:       helper,
		})
	}

	pod.Spec.Containers = []corev1.Container{
		container("build", buildImage, shellCommand, SampleService{}, k.BuildContainerSecurityContext, build),
		container("helper", helperImage, shellCommand, SampleService{}, k.HelperContainerSecurityContext, helper),
	}
	for _, s := range services {
		pod.Spec.Containers = append(pod.Spec.Containers, container(s.name, s.Name, nil, s.SampleService, k.ServiceContainerSecurityContext, service))
	}
	for _, name := range k.ImagePullSecrets {
		pod.Spec.ImagePullSecrets = append(pod.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: name})
	}
	if k.UseServiceAccountImagePullSecrets {
		pod.Spec.ImagePullSecrets = nil
	}
	if flags.on(runnerversion.FFAdvancedPodSpec) {
		spec, err := applyPodSpecPatches(pod.Spec, k.PodSpec)
		if err != nil {
			return nil, err
		}
		pod.Spec = spec
	}
	return pod, nil
}

// ShellDetection stands for the runner's shell detection script
// (shells.BashDetectShellScript), which the build and helper containers run
// to start a shell; tools/runnerlab checks the runner's pods run it.
const ShellDetection = "<the runner's shell detection script>"

// JobPodOptions say which job JobPod builds the pod for, and on which
// manager.
type JobPodOptions struct {
	// Job is the job (DefaultJob when nil).
	Job *JobSample
	// Services, when Job is nil, replaces DefaultJob's services with this
	// many services of its own, without aliases (containers svc-0, svc-1...).
	Services int
	// Manager is the manager's name ([[runners]] name: its pod's name) and
	// ShortToken the short form of the runner token (its first 9 characters
	// after glrt-); both only show in labels and the pod's name.
	Manager, ShortToken string
}

func (o JobPodOptions) job() JobSample {
	if o.Job != nil {
		return *o.Job
	}
	job := DefaultJob
	if o.Services > 0 {
		job.Services = nil
		for range o.Services {
			job.Services = append(job.Services, SampleService{Name: "registry.example.com/service:1"})
		}
	}
	return job
}

func (o JobPodOptions) manager() string {
	if o.Manager != "" {
		return o.Manager
	}
	return "manager-0"
}

func (o JobPodOptions) shortToken() string {
	if o.ShortToken != "" {
		return o.ShortToken
	}
	return "abcdefghi"
}

// featureFlags are the flags a [[runners]] entry sets, read with each
// flag's default in the releases the fleet supports (17.0 and later): a
// flag the entry leaves unset is the job's to choose, so its default is only
// what a job that does not set it gets.
type featureFlags map[string]bool

// flagDefaults are the defaults of the flags JobPod reads that are on by
// default (helpers/featureflags/flags.go, the same from v17.0.0 to v19.3.0).
var flagDefaults = map[string]bool{runnerversion.FFPodActiveDeadline: true}

func flagsOf(r RunnerConfig) featureFlags { return r.FeatureFlags }

func (f featureFlags) on(name string) bool {
	if v, set := f[name]; set {
		return v
	}
	return flagDefaults[name]
}

// jobPathSet are the paths of a job inside its pod.
type jobPathSet struct{ builds, scripts, logs string }

// jobPaths are the runner's RootDir (builds_dir, else /builds),
// scriptsDir and logsDir (scripts_base_dir and logs_base_dir prefix them)
// for the job.
func jobPaths(r RunnerConfig, j JobSample) jobPathSet {
	base := func(configured, dir string) string {
		if configured != "" {
			dir = strings.TrimRight(configured, "/\\") + dir
		}
		return fmt.Sprintf("%s-%d-%d", dir, j.ProjectID, j.ID)
	}
	builds := r.BuildsDir
	if builds == "" {
		builds = "/builds"
	}
	return jobPathSet{builds: builds, scripts: base(r.Kubernetes.ScriptsBaseDir, "/scripts"), logs: base(r.Kubernetes.LogsBaseDir, "/logs")}
}

// kubernetesPullPolicy is the runner's conversion of a pull_policy value.
func kubernetesPullPolicy(p string) corev1.PullPolicy {
	switch p {
	case "always":
		return corev1.PullAlways
	case "never":
		return corev1.PullNever
	case "if-not-present":
		return corev1.PullIfNotPresent
	}
	return corev1.PullPolicy(p)
}

// helperImageRepository is the runner's helper image on GitLab's registry.
const helperImageRepository = "registry.gitlab.com/gitlab-org/gitlab-runner/gitlab-runner-helper"

// jobHelperImage is helper_image, else the release's helper image for the
// architecture the node selector asks for (the manager's, amd64, without
// one) and helper_image_flavor (alpine, which adds no prefix, by default).
func jobHelperImage(k KubernetesConfig, v runnerversion.Version) string {
	if k.HelperImage != "" {
		return k.HelperImage
	}
	arch := "x86_64"
	switch a := k.NodeSelector["kubernetes.io/arch"]; a {
	case "", "amd64":
	case "aarch64":
		arch = "arm64"
	case "armv6l", "armv7l":
		arch = "arm"
	default:
		arch = a
	}
	prefix := ""
	if f := k.HelperImageFlavor; f != "" && f != "alpine" {
		prefix = f + "-"
	}
	return fmt.Sprintf("%s:%s%s-v%d.%d.%d", helperImageRepository, prefix, arch, v.Major, v.Minor, v.Patch)
}

// jobDNSPolicy is the runner's KubernetesDNSPolicy.Get: ClusterFirst when
// unset.
func jobDNSPolicy(p string) corev1.DNSPolicy {
	switch p {
	case "", "cluster-first":
		return corev1.DNSClusterFirst
	case "none":
		return corev1.DNSNone
	case "default":
		return corev1.DNSDefault
	case "cluster-first-with-host-net":
		return corev1.DNSClusterFirstWithHostNet
	}
	return ""
}

func jobDNSConfig(d *DNSConfig) *corev1.PodDNSConfig {
	if d == nil || (len(d.Nameservers) == 0 && len(d.Searches) == 0 && len(d.Options) == 0) {
		return nil
	}
	out := &corev1.PodDNSConfig{Nameservers: d.Nameservers, Searches: d.Searches}
	for _, o := range d.Options {
		out.Options = append(out.Options, corev1.PodDNSConfigOption{Name: o.Name, Value: ptrUnlessEmpty(o.Value)})
	}
	return out
}

// jobAffinity is the runner's GetAffinity: always set, with the node
// affinity's required terms when configured.
func jobAffinity(a *AffinityConfig) *corev1.Affinity {
	out := &corev1.Affinity{}
	if a == nil || a.NodeAffinity == nil {
		return out
	}
	out.NodeAffinity = &corev1.NodeAffinity{}
	if req := a.NodeAffinity.Required; req != nil {
		selector := &corev1.NodeSelector{}
		for _, t := range req.Terms {
			var term corev1.NodeSelectorTerm
			for _, r := range t.MatchExpressions {
				term.MatchExpressions = append(term.MatchExpressions, corev1.NodeSelectorRequirement{Key: r.Key, Operator: corev1.NodeSelectorOperator(r.Operator), Values: r.Values})
			}
			selector.NodeSelectorTerms = append(selector.NodeSelectorTerms, term)
		}
		out.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = selector
	}
	return out
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
// Equal, a bare key is operator Exists (in the runner's map order; the model
// sorts them).
func jobTolerations(table map[string]string) []corev1.Toleration {
	var out []corev1.Toleration
	for _, keyValue := range sortedKeys(table) {
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

// jobResources are a container's requests and limits as the runner parses
// them from the configuration (an empty value sets nothing).
func jobResources(cpuRequest, cpuLimit, memoryRequest, memoryLimit, storageRequest, storageLimit string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: resourceList(map[corev1.ResourceName]string{corev1.ResourceCPU: cpuRequest, corev1.ResourceMemory: memoryRequest, corev1.ResourceEphemeralStorage: storageRequest}),
		Limits:   resourceList(map[corev1.ResourceName]string{corev1.ResourceCPU: cpuLimit, corev1.ResourceMemory: memoryLimit, corev1.ResourceEphemeralStorage: storageLimit}),
	}
}

func resourceList(values map[corev1.ResourceName]string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for name, v := range values {
		if v != "" {
			out[name] = k8sresource.MustParse(v)
		}
	}
	return out
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

func ptrUnlessEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

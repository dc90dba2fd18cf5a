package components

import (
	"bytes"
	"fmt"

	"github.com/BurntSushi/toml"
)

// The runner configuration, as two TOML documents encoded from typed structs
// whose `toml` tags are GitLab Runner's own config.toml key names and whose
// `runner` tags name the runner's Go struct that holds each key
// (common/config.go), so that UnsupportedRunnerKeys can check every rendered
// key against the release the managers run:
//
//   - config.toml holds the global settings; the entrypoint copies it into the
//     config directory.
//   - runner-template.toml holds one [[runners]] entry; `gitlab-runner register
//     --template-config` merges it when it verifies the token and appends the
//     runner (with its URL, token and system id) to config.toml.
//
// Neither document holds the token: it reaches the pod only through the Secret.

// GlobalConfig is config.toml's top level.
type GlobalConfig struct {
	Concurrent      int    `toml:"concurrent" runner:"Config"`
	CheckInterval   int    `toml:"check_interval" runner:"Config"`
	LogLevel        string `toml:"log_level" runner:"Config"`
	LogFormat       string `toml:"log_format" runner:"Config"`
	ListenAddress   string `toml:"listen_address" runner:"Config"`
	ShutdownTimeout int    `toml:"shutdown_timeout" runner:"Config"`
}

// RunnerTemplate is the template given to `register --template-config`.
type RunnerTemplate struct {
	Runners []RunnerConfig `toml:"runners" runner:"Config"`
}

// RunnerConfig is one [[runners]] entry.
type RunnerConfig struct {
	Executor string `toml:"executor" runner:"RunnerSettings"`
	// TLSCAFile is GitLab's CA bundle (ca.go).
	TLSCAFile string `toml:"tls-ca-file,omitempty" runner:"RunnerCredentials"`
	// Environment are variables of every job ("KEY=value").
	Environment  []string         `toml:"environment,omitempty" runner:"RunnerSettings"`
	Cache        *CacheConfig     `toml:"cache,omitempty" runner:"RunnerSettings"`
	Kubernetes   KubernetesConfig `toml:"kubernetes" runner:"RunnerSettings"`
	FeatureFlags map[string]bool  `toml:"feature_flags,omitempty" runner:"RunnerSettings"`
}

// KubernetesConfig is [runners.kubernetes].
type KubernetesConfig struct {
	Namespace  string   `toml:"namespace" runner:"KubernetesConfig"`
	Image      string   `toml:"image" runner:"KubernetesConfig"`
	Privileged bool     `toml:"privileged" runner:"KubernetesConfig"`
	PullPolicy []string `toml:"pull_policy" runner:"KubernetesConfig"`
	// AllowedPullPolicies are the policies a job's .gitlab-ci.yml may ask for.
	AllowedPullPolicies []string `toml:"allowed_pull_policies,omitempty" runner:"KubernetesConfig"`
	PollInterval        int      `toml:"poll_interval" runner:"KubernetesConfig"`
	PollTimeout         int      `toml:"poll_timeout" runner:"KubernetesConfig"`
	ServiceAccount      string   `toml:"service_account,omitempty" runner:"KubernetesConfig"`
	// AutomountServiceAccountToken mounts an API token into job pods.
	AutomountServiceAccountToken *bool `toml:"automount_service_account_token,omitempty" runner:"KubernetesConfig"`

	CPURequest           string `toml:"cpu_request,omitempty" runner:"KubernetesConfig"`
	CPULimit             string `toml:"cpu_limit,omitempty" runner:"KubernetesConfig"`
	MemoryRequest        string `toml:"memory_request,omitempty" runner:"KubernetesConfig"`
	MemoryLimit          string `toml:"memory_limit,omitempty" runner:"KubernetesConfig"`
	ServiceCPURequest    string `toml:"service_cpu_request,omitempty" runner:"KubernetesConfig"`
	ServiceCPULimit      string `toml:"service_cpu_limit,omitempty" runner:"KubernetesConfig"`
	ServiceMemoryRequest string `toml:"service_memory_request,omitempty" runner:"KubernetesConfig"`
	ServiceMemoryLimit   string `toml:"service_memory_limit,omitempty" runner:"KubernetesConfig"`
	HelperCPURequest     string `toml:"helper_cpu_request,omitempty" runner:"KubernetesConfig"`
	HelperCPULimit       string `toml:"helper_cpu_limit,omitempty" runner:"KubernetesConfig"`
	HelperMemoryRequest  string `toml:"helper_memory_request,omitempty" runner:"KubernetesConfig"`
	HelperMemoryLimit    string `toml:"helper_memory_limit,omitempty" runner:"KubernetesConfig"`

	EphemeralStorageRequest        string `toml:"ephemeral_storage_request,omitempty" runner:"KubernetesConfig"`
	EphemeralStorageLimit          string `toml:"ephemeral_storage_limit,omitempty" runner:"KubernetesConfig"`
	ServiceEphemeralStorageRequest string `toml:"service_ephemeral_storage_request,omitempty" runner:"KubernetesConfig"`
	ServiceEphemeralStorageLimit   string `toml:"service_ephemeral_storage_limit,omitempty" runner:"KubernetesConfig"`
	HelperEphemeralStorageRequest  string `toml:"helper_ephemeral_storage_request,omitempty" runner:"KubernetesConfig"`
	HelperEphemeralStorageLimit    string `toml:"helper_ephemeral_storage_limit,omitempty" runner:"KubernetesConfig"`

	NodeSelector    map[string]string `toml:"node_selector,omitempty" runner:"KubernetesConfig"`
	NodeTolerations map[string]string `toml:"node_tolerations,omitempty" runner:"KubernetesConfig"`
	PodLabels       map[string]string `toml:"pod_labels,omitempty" runner:"KubernetesConfig"`
	PodAnnotations  map[string]string `toml:"pod_annotations,omitempty" runner:"KubernetesConfig"`

	PodTerminationGracePeriodSeconds *int  `toml:"pod_termination_grace_period_seconds,omitempty" runner:"KubernetesConfig"`
	CleanupGracePeriodSeconds        *int  `toml:"cleanup_grace_period_seconds,omitempty" runner:"KubernetesConfig"`
	PrintPodWarningEvents            *bool `toml:"print_pod_warning_events,omitempty" runner:"KubernetesConfig"`
	PodDisruptionBudget              bool  `toml:"pod_disruption_budget,omitempty" runner:"KubernetesConfig"`

	// Job pod security (jobsecurity.go).
	PodSecurityContext                      *PodSecurityContext       `toml:"pod_security_context,omitempty" runner:"KubernetesConfig"`
	BuildContainerSecurityContext           *ContainerSecurityContext `toml:"build_container_security_context,omitempty" runner:"KubernetesConfig"`
	HelperContainerSecurityContext          *ContainerSecurityContext `toml:"helper_container_security_context,omitempty" runner:"KubernetesConfig"`
	ServiceContainerSecurityContext         *ContainerSecurityContext `toml:"service_container_security_context,omitempty" runner:"KubernetesConfig"`
	InitPermissionsContainerSecurityContext *ContainerSecurityContext `toml:"init_permissions_container_security_context,omitempty" runner:"KubernetesConfig"`
	PodSpec                                 []PodSpecPatch            `toml:"pod_spec,omitempty" runner:"KubernetesConfig"`

	// Registries (registry.go).
	ImagePullSecrets  []string `toml:"image_pull_secrets,omitempty" runner:"KubernetesConfig"`
	HelperImage       string   `toml:"helper_image,omitempty" runner:"KubernetesConfig"`
	HelperImageFlavor string   `toml:"helper_image_flavor,omitempty" runner:"KubernetesConfig"`

	// Volumes of job pods (volumes.go).
	Volumes *KubernetesVolumes `toml:"volumes,omitempty" runner:"KubernetesConfig"`

	// Job policy (jobpolicy.go).
	AllowedImages                  []string          `toml:"allowed_images,omitempty" runner:"KubernetesConfig"`
	AllowedServices                []string          `toml:"allowed_services,omitempty" runner:"KubernetesConfig"`
	Services                       []ServiceConfig   `toml:"services,omitempty" runner:"KubernetesConfig"`
	DNSPolicy                      string            `toml:"dns_policy,omitempty" runner:"KubernetesConfig"`
	DNSConfig                      *DNSConfig        `toml:"dns_config,omitempty" runner:"KubernetesConfig"`
	PriorityClassName              string            `toml:"priority_class_name,omitempty" runner:"KubernetesConfig"`
	SchedulerName                  string            `toml:"scheduler_name,omitempty" runner:"KubernetesConfig"`
	Affinity                       *AffinityConfig   `toml:"affinity,omitempty" runner:"KubernetesConfig"`
	HostAliases                    []HostAliasConfig `toml:"host_aliases,omitempty" runner:"KubernetesConfig"`
	ServiceAccountOverwriteAllowed string            `toml:"service_account_overwrite_allowed,omitempty" runner:"KubernetesConfig"`
	BearerTokenOverwriteAllowed    bool              `toml:"bearer_token_overwrite_allowed,omitempty" runner:"KubernetesConfig"`
	CPULimitOverwriteMaxAllowed    string            `toml:"cpu_limit_overwrite_max_allowed,omitempty" runner:"KubernetesConfig"`
	CPURequestOverwriteMaxAllowed  string            `toml:"cpu_request_overwrite_max_allowed,omitempty" runner:"KubernetesConfig"`
	MemLimitOverwriteMaxAllowed    string            `toml:"memory_limit_overwrite_max_allowed,omitempty" runner:"KubernetesConfig"`
	MemRequestOverwriteMaxAllowed  string            `toml:"memory_request_overwrite_max_allowed,omitempty" runner:"KubernetesConfig"`
}

// PodSecurityContext is [runners.kubernetes.pod_security_context].
type PodSecurityContext struct {
	RunAsNonRoot   *bool           `toml:"run_as_non_root,omitempty" runner:"KubernetesPodSecurityContext"`
	RunAsUser      *int64          `toml:"run_as_user,omitempty" runner:"KubernetesPodSecurityContext"`
	RunAsGroup     *int64          `toml:"run_as_group,omitempty" runner:"KubernetesPodSecurityContext"`
	FSGroup        *int64          `toml:"fs_group,omitempty" runner:"KubernetesPodSecurityContext"`
	SeccompProfile *SeccompProfile `toml:"seccomp_profile,omitempty" runner:"KubernetesPodSecurityContext"`
}

// ContainerSecurityContext is one of the [runners.kubernetes.*_container_security_context] tables.
type ContainerSecurityContext struct {
	Privileged               *bool         `toml:"privileged,omitempty" runner:"KubernetesContainerSecurityContext"`
	AllowPrivilegeEscalation *bool         `toml:"allow_privilege_escalation,omitempty" runner:"KubernetesContainerSecurityContext"`
	RunAsNonRoot             *bool         `toml:"run_as_non_root,omitempty" runner:"KubernetesContainerSecurityContext"`
	Capabilities             *Capabilities `toml:"capabilities,omitempty" runner:"KubernetesContainerSecurityContext"`
}

// Capabilities is a container security context's capabilities table.
type Capabilities struct {
	Add  []string `toml:"add,omitempty" runner:"KubernetesContainerCapabilities"`
	Drop []string `toml:"drop,omitempty" runner:"KubernetesContainerCapabilities"`
}

// SeccompProfile is a security context's seccomp_profile table (runner 18.11+).
type SeccompProfile struct {
	Type string `toml:"type" runner:"KubernetesSeccompProfile"`
}

// PodSpecPatch is one [[runners.kubernetes.pod_spec]] patch, applied by the
// runner to every job pod when FF_USE_ADVANCED_POD_SPEC_CONFIGURATION is on.
type PodSpecPatch struct {
	Name      string `toml:"name" runner:"KubernetesPodSpec"`
	PatchType string `toml:"patch_type" runner:"KubernetesPodSpec"`
	Patch     string `toml:"patch" runner:"KubernetesPodSpec"`
}

// RenderGlobalConfig encodes config.toml's global settings.
func RenderGlobalConfig(m ManagerSettings) (string, error) {
	return encodeTOML(globalConfig(m))
}

func globalConfig(m ManagerSettings) GlobalConfig {
	return GlobalConfig{
		Concurrent:      m.Concurrent,
		CheckInterval:   m.CheckInterval,
		LogLevel:        m.LogLevel,
		LogFormat:       m.LogFormat,
		ListenAddress:   fmt.Sprintf(":%d", MetricsPort),
		ShutdownTimeout: m.ShutdownTimeout,
	}
}

// RenderRunnerTemplate encodes the fleet's [[runners]] template.
func RenderRunnerTemplate(s FleetSettings) (string, error) {
	r := runnerConfig(s)
	if s.Executor.ExtraConfig == "" {
		return encodeTOML(RunnerTemplate{Runners: []RunnerConfig{r}})
	}
	extra, err := parseExtraConfig(s.Executor.ExtraConfig)
	if err != nil {
		return "", fmt.Errorf("executor.extraConfig: %w", err)
	}
	return mergeExtraConfig(r, extra)
}

// runnerConfig is the fleet's [[runners]] entry for the release its managers
// run (some keys depend on it).
func runnerConfig(s FleetSettings) RunnerConfig {
	e := s.Executor
	k := KubernetesConfig{
		Namespace:  s.JobNamespace,
		Image:      e.Image,
		Privileged: e.Privileged,
		PullPolicy: e.PullPolicy,
		// Without this a job may ask for if-not-present and run another
		// project's private image cached on the node.
		AllowedPullPolicies: e.PullPolicy,
		PollInterval:        e.PollInterval,
		PollTimeout:         e.PollTimeout,
		ServiceAccount:      e.ServiceAccount,
		// A job gets an API token only from a ServiceAccount chosen for jobs
		// on purpose; the namespace's default one never mounts into jobs.
		AutomountServiceAccountToken: ptr(e.ServiceAccount != ""),

		CPURequest:           e.Build.CPURequest,
		CPULimit:             e.Build.CPULimit,
		MemoryRequest:        e.Build.MemoryRequest,
		MemoryLimit:          e.Build.MemoryLimit,
		ServiceCPURequest:    e.Service.CPURequest,
		ServiceCPULimit:      e.Service.CPULimit,
		ServiceMemoryRequest: e.Service.MemoryRequest,
		ServiceMemoryLimit:   e.Service.MemoryLimit,
		HelperCPURequest:     e.Helper.CPURequest,
		HelperCPULimit:       e.Helper.CPULimit,
		HelperMemoryRequest:  e.Helper.MemoryRequest,
		HelperMemoryLimit:    e.Helper.MemoryLimit,

		EphemeralStorageRequest:        e.Build.EphemeralStorageRequest,
		EphemeralStorageLimit:          e.Build.EphemeralStorageLimit,
		ServiceEphemeralStorageRequest: e.Service.EphemeralStorageRequest,
		ServiceEphemeralStorageLimit:   e.Service.EphemeralStorageLimit,
		HelperEphemeralStorageRequest:  e.Helper.EphemeralStorageRequest,
		HelperEphemeralStorageLimit:    e.Helper.EphemeralStorageLimit,

		NodeSelector:    e.NodeSelector,
		NodeTolerations: runnerTolerations(e.Tolerations),
		PodLabels:       e.PodLabels,
		PodAnnotations:  e.PodAnnotations,

		PodTerminationGracePeriodSeconds: e.PodTerminationGracePeriodSeconds,
		CleanupGracePeriodSeconds:        e.CleanupGracePeriodSeconds,
		PrintPodWarningEvents:            e.PrintPodWarningEvents,
		PodDisruptionBudget:              e.PodDisruptionBudget,
	}
	// Pull Secrets: the ones named, and the one the fleet makes.
	k.ImagePullSecrets = append([]string{}, e.ImagePullSecrets...)
	if e.RegistryCredentialsConfigKey != "" {
		k.ImagePullSecrets = append(k.ImagePullSecrets, registrySecretName(s))
	}
	if len(k.ImagePullSecrets) == 0 {
		k.ImagePullSecrets = nil
	}
	k.HelperImage, k.HelperImageFlavor = e.HelperImage, e.HelperImageFlavor

	flags := mergeFlags(e.FeatureFlags, runnerOwnedFeatureFlags)
	r := RunnerConfig{Executor: "kubernetes", Kubernetes: k, FeatureFlags: flags, Cache: cacheConfig(s.Cache)}
	if s.GitlabCA != nil {
		r.TLSCAFile = caDir + "/" + caKey
	}
	applyJobPolicy(&r, e)
	applyJobSecurity(&r.Kubernetes, flags, e, s.RunnerVersion())
	return r
}

// runnerOwnedFeatureFlags are set on every fleet; settings may not change them.
var runnerOwnedFeatureFlags = map[string]bool{
	// The stack rotates the runner token (runner.rotateEvery): a manager that
	// rotates it itself keeps the new token only in its own memory, so every
	// other replica, every restarted pod and the Secret keep a dead token
	// (commands/multi.go, resetOneRunnerToken).
	ffDisableTokenRotation: true,
}

func mergeFlags(maps ...map[string]bool) map[string]bool {
	out := map[string]bool{}
	for _, m := range maps {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// runnerTolerations converts tolerations to the runner's table form:
// "key=value" (operator Equal) or "key" (operator Exists) mapped to the effect.
func runnerTolerations(tolerations []Toleration) map[string]string {
	if len(tolerations) == 0 {
		return nil
	}
	out := make(map[string]string, len(tolerations))
	for _, t := range tolerations {
		key := t.Key
		if t.Operator != "Exists" {
			key += "=" + t.Value
		}
		out[key] = t.Effect
	}
	return out
}

func encodeTOML(v any) (string, error) {
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(v); err != nil {
		return "", fmt.Errorf("encoding runner configuration: %w", err)
	}
	return buf.String(), nil
}

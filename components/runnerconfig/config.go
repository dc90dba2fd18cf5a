package runnerconfig

// GlobalConfig is config.toml's top level.
type GlobalConfig struct {
	Concurrent      int    `toml:"concurrent" runner:"Config"`
	CheckInterval   int    `toml:"check_interval" runner:"Config"`
	LogLevel        string `toml:"log_level" runner:"Config"`
	LogFormat       string `toml:"log_format" runner:"Config"`
	ListenAddress   string `toml:"listen_address" runner:"Config"`
	ShutdownTimeout int    `toml:"shutdown_timeout" runner:"Config"`
	// SessionServer serves interactive web terminals (manager.pod.sessionServer).
	SessionServer *SessionServerConfig `toml:"session_server,omitempty" runner:"Config"`
}

// SessionServerConfig is [session_server].
type SessionServerConfig struct {
	ListenAddress string `toml:"listen_address" runner:"SessionServer"`
	// AdvertiseAddress may hold settings.PodNamePlaceholder, which the
	// entrypoint replaces with the pod's name.
	AdvertiseAddress string `toml:"advertise_address" runner:"SessionServer"`
	SessionTimeout   int    `toml:"session_timeout" runner:"SessionServer"`
}

// RunnerTemplate is the template given to `register --template-config`.
type RunnerTemplate struct {
	Runners []RunnerConfig `toml:"runners" runner:"Config"`
}

// RunnerConfig is one [[runners]] entry.
//
// Fields tagged fleet:"extra" are never rendered from settings: they hold
// what executor.extraConfig may add, so that the entry the runner receives
// decodes whole into this model (see FinalEntry).
type RunnerConfig struct {
	Executor string `toml:"executor" runner:"RunnerSettings"`
	// BuildsDir is where jobs' sources are (the runner's default: /builds).
	BuildsDir string `toml:"builds_dir,omitempty" runner:"RunnerSettings" fleet:"extra"`
	// TLSCAFile is GitLab's CA bundle (CAFile).
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
	// RetryLimits holds the fleet's entry for the quota's refusal
	// (quotaRetries); extraConfig's entries are added to it.
	RetryLimits map[string]int `toml:"retry_limits,omitempty" runner:"KubernetesConfig"`

	// Job pod security (the level's security contexts).
	PodSecurityContext                      *PodSecurityContext       `toml:"pod_security_context,omitempty" runner:"KubernetesConfig"`
	BuildContainerSecurityContext           *ContainerSecurityContext `toml:"build_container_security_context,omitempty" runner:"KubernetesConfig"`
	HelperContainerSecurityContext          *ContainerSecurityContext `toml:"helper_container_security_context,omitempty" runner:"KubernetesConfig"`
	ServiceContainerSecurityContext         *ContainerSecurityContext `toml:"service_container_security_context,omitempty" runner:"KubernetesConfig"`
	InitPermissionsContainerSecurityContext *ContainerSecurityContext `toml:"init_permissions_container_security_context,omitempty" runner:"KubernetesConfig"`
	PodSpec                                 []PodSpecPatch            `toml:"pod_spec,omitempty" runner:"KubernetesConfig"`

	// Registries.
	ImagePullSecrets  []string `toml:"image_pull_secrets,omitempty" runner:"KubernetesConfig"`
	HelperImage       string   `toml:"helper_image,omitempty" runner:"KubernetesConfig"`
	HelperImageFlavor string   `toml:"helper_image_flavor,omitempty" runner:"KubernetesConfig"`

	// Volumes of job pods.
	Volumes *KubernetesVolumes `toml:"volumes,omitempty" runner:"KubernetesConfig"`

	// Job policy.
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

	// What only executor.extraConfig sets, each a field of the job pod.
	RuntimeClassName                  string `toml:"runtime_class_name,omitempty" runner:"KubernetesConfig" fleet:"extra"`
	UseServiceAccountImagePullSecrets bool   `toml:"use_service_account_image_pull_secrets,omitempty" runner:"KubernetesConfig" fleet:"extra"`
	ScriptsBaseDir                    string `toml:"scripts_base_dir,omitempty" runner:"KubernetesConfig" fleet:"extra"`
	LogsBaseDir                       string `toml:"logs_base_dir,omitempty" runner:"KubernetesConfig" fleet:"extra"`
	PodCPURequest                     string `toml:"pod_cpu_request,omitempty" runner:"KubernetesConfig" fleet:"extra"`
	PodCPULimit                       string `toml:"pod_cpu_limit,omitempty" runner:"KubernetesConfig" fleet:"extra"`
	PodMemoryRequest                  string `toml:"pod_memory_request,omitempty" runner:"KubernetesConfig" fleet:"extra"`
	PodMemoryLimit                    string `toml:"pod_memory_limit,omitempty" runner:"KubernetesConfig" fleet:"extra"`
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

package settings

import "github.com/glrf/gitlab-runner-fleet/components/runnerversion"

// FleetSettings describe one runner fleet: a runner in GitLab and the
// StatefulSet of runner managers that serve it.
type FleetSettings struct {
	// Name identifies the fleet; it prefixes every object the fleet creates.
	Name string `json:"name"`
	// Cluster names the cluster the fleet runs in (a stack's
	// gitlab-runner-fleet:clusters; the program checks it and passes that
	// cluster's provider). Empty: the default provider's cluster. Namespaces
	// are shared only among fleets of the same cluster (PlanFleets).
	Cluster string `json:"cluster,omitempty"`
	// Namespace holds the runner managers. Default: gitlab-runner-<name>.
	Namespace string `json:"namespace,omitempty"`
	// CreateNamespace creates Namespace (default true); false uses an existing one.
	CreateNamespace *bool `json:"createNamespace,omitempty"`
	// JobNamespace holds the job pods, and so the Role and RoleBinding.
	// Default: <namespace>-jobs, so the managers' namespace can enforce the
	// `restricted` Pod Security level while jobs run under their own level.
	JobNamespace string `json:"jobNamespace,omitempty"`
	// CreateJobNamespace creates JobNamespace (default true).
	CreateJobNamespace *bool `json:"createJobNamespace,omitempty"`
	// TokenConfigKey names a secret stack setting of this project holding an
	// existing runner authentication token (glrt-...). When set, no runner is
	// created in GitLab and Runner must be empty.
	TokenConfigKey string `json:"tokenConfigKey,omitempty"`
	// TokenSecret names an existing Secret of the managers' namespace holding
	// the token (made by External Secrets, Vault, ...; key default
	// runner-token). When set, no runner is created and Runner must be empty.
	TokenSecret *SecretKeyRef `json:"tokenSecret,omitempty"`
	// Cache is the distributed cache (CacheSettings).
	Cache CacheSettings `json:"cache"`
	// GitlabCA is GitLab's CA bundle when its certificate is private (CASettings).
	GitlabCA *CASettings `json:"gitlabCA,omitempty"`
	// Runner is the runner object in GitLab (a UserRunner).
	Runner RunnerSettings `json:"runner"`
	// Manager configures the runner manager pods and config.toml's globals.
	Manager ManagerSettings `json:"manager"`
	// Executor configures `[runners.kubernetes]`: how job pods are built.
	Executor ExecutorSettings `json:"executor"`
	// Network limits what jobs and managers can reach (NetworkSettings).
	Network NetworkSettings `json:"network"`
}

// RunnerSettings are the server-side settings of the runner in GitLab.
type RunnerSettings struct {
	// Type is instance_type, group_type or project_type.
	Type string `json:"type,omitempty" enum:"instance_type,group_type,project_type"`
	// GroupID is required for group_type runners.
	GroupID int `json:"groupId,omitempty"`
	// ProjectID is required for project_type runners.
	ProjectID int `json:"projectId,omitempty"`
	// Description shown in GitLab. Default: "<fleet> (<stack>)".
	Description string `json:"description,omitempty"`
	// Tags select which jobs the runner picks.
	Tags []string `json:"tags,omitempty"`
	// Untagged also picks jobs without tags. Default: true when Tags is empty.
	Untagged *bool `json:"untagged,omitempty"`
	// Locked ties a project runner to its project.
	Locked bool `json:"locked,omitempty"`
	// Paused runners take no new jobs.
	Paused bool `json:"paused,omitempty"`
	// AccessLevel is not_protected (default) or ref_protected.
	AccessLevel string `json:"accessLevel,omitempty" enum:"not_protected,ref_protected"`
	// MaximumTimeout caps a job's run time in seconds (0: no cap, else >= 600).
	MaximumTimeout int `json:"maximumTimeout,omitempty"`
	// MaintenanceNote is a free-form note (1024 characters at most).
	MaintenanceNote string `json:"maintenanceNote,omitempty"`
	// RotateEvery replaces the runner, and so its token, in the first `up` of
	// each new period ("720h", "30d"; see NextRotation). Empty: never. The
	// previous period's runner is kept one more period, for managers not yet
	// rolled: GitLab lists two runners. Run `up` at least once a period.
	RotateEvery string `json:"rotateEvery,omitempty"`
}

// ManagerSettings configure the runner manager pods.
type ManagerSettings struct {
	// Image of gitlab-runner, with a pinned tag or digest (never latest).
	Image string `json:"image,omitempty"`
	// RunnerVersion is the GitLab Runner release the image holds ("v19.3.0").
	// Read from the image tag when it ends in one (alpine-v19.3.0); required
	// for a digest or any other tag.
	RunnerVersion string `json:"runnerVersion,omitempty"`
	// Replicas of the manager (each one polls GitLab for jobs).
	Replicas *int `json:"replicas,omitempty"`
	// AntiAffinity spreads managers across nodes: preferred (default), required or none.
	AntiAffinity string `json:"antiAffinity,omitempty" enum:"preferred,required,none"`
	// Concurrent is the most jobs one manager runs at once.
	Concurrent int `json:"concurrent,omitempty"`
	// CheckInterval is the seconds between requests for new jobs.
	CheckInterval int `json:"checkInterval,omitempty"`
	// LogLevel: debug, info, warning, error, fatal or panic.
	LogLevel string `json:"logLevel,omitempty" enum:"debug,info,warning,error,fatal,panic"`
	// LogFormat: runner, text or json.
	LogFormat string `json:"logFormat,omitempty" enum:"runner,text,json"`
	// ShutdownTimeout is the seconds a forceful shutdown may take.
	ShutdownTimeout int `json:"shutdownTimeout,omitempty"`
	// TerminationGracePeriodSeconds is how long a stopping manager may take:
	// it drains (finishes running jobs, takes no new one) until
	// shutdownTimeout + stopMargin before the end, then gets SIGTERM and
	// aborts what is left. Default: the drain covers the runner's maximum
	// timeout, or an hour without one.
	TerminationGracePeriodSeconds int `json:"terminationGracePeriodSeconds,omitempty"`
	// RolloutTimeout is how long `up` waits for the managers to finish
	// rolling out after a change (seconds; 0, the default: it does not wait).
	// Either way `up` never fails because managers are still draining jobs:
	// it reports which are (see program.WaitRollout).
	RolloutTimeout int `json:"rolloutTimeout,omitempty"`
	// PodLabels and PodAnnotations are added to the manager pods.
	PodLabels      map[string]string `json:"podLabels,omitempty"`
	PodAnnotations map[string]string `json:"podAnnotations,omitempty"`
	// Resources of the manager container.
	Resources ContainerResources `json:"resources"`
	// RunAsUser, RunAsGroup and FSGroup of the manager pod (the image's
	// gitlab-runner user by default).
	RunAsUser  *int64 `json:"runAsUser,omitempty"`
	RunAsGroup *int64 `json:"runAsGroup,omitempty"`
	FSGroup    *int64 `json:"fsGroup,omitempty"`
	// NodeSelector and Tolerations place the manager pods.
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
	Tolerations  []Toleration      `json:"tolerations,omitempty"`
	// ServiceAccountAnnotations are put on the managers' ServiceAccount, for
	// a cloud workload identity (the cache without keys, say).
	ServiceAccountAnnotations map[string]string `json:"serviceAccountAnnotations,omitempty"`
	// ImagePullSecrets of the manager pod (existing Secrets of its namespace).
	ImagePullSecrets []string `json:"imagePullSecrets,omitempty"`
	// RegistryCredentialsConfigKey names a secret stack setting holding a
	// Docker config JSON: the fleet makes a pull Secret for the manager pod.
	RegistryCredentialsConfigKey string `json:"registryCredentialsConfigKey,omitempty"`
	// Monitoring asks for a PodMonitor or ServiceMonitor.
	Monitoring MonitoringSettings `json:"monitoring"`
}

// ExecutorSettings configure how the Kubernetes executor builds job pods.
type ExecutorSettings struct {
	// Image is the default job image.
	Image string `json:"image,omitempty"`
	// Privileged job containers (needed for docker-in-docker). Off by default;
	// turning it on sets the job namespace's Pod Security level to privileged.
	Privileged bool `json:"privileged,omitempty"`
	// PullPolicy: any of never, if-not-present, always. Default: always for
	// instance and group runners (a job must not use another project's private
	// image cached on the node), if-not-present for project runners. Jobs may
	// ask for these policies only (allowed_pull_policies).
	PullPolicy []string `json:"pullPolicy,omitempty" enum:"never,if-not-present,always"`
	// PollInterval and PollTimeout (seconds) for waiting on job pods.
	PollInterval int `json:"pollInterval,omitempty"`
	PollTimeout  int `json:"pollTimeout,omitempty"`
	// Build, Service and Helper container resources.
	Build   ContainerResources `json:"build"`
	Service ContainerResources `json:"service"`
	Helper  ContainerResources `json:"helper"`
	// ServiceAccount job pods run as (the namespace default when empty).
	ServiceAccount string `json:"serviceAccount,omitempty"`
	// NodeSelector, Tolerations, PodLabels and PodAnnotations of job pods.
	NodeSelector   map[string]string `json:"nodeSelector,omitempty"`
	Tolerations    []Toleration      `json:"tolerations,omitempty"`
	PodLabels      map[string]string `json:"podLabels,omitempty"`
	PodAnnotations map[string]string `json:"podAnnotations,omitempty"`
	// PodTerminationGracePeriodSeconds and CleanupGracePeriodSeconds of job pods.
	PodTerminationGracePeriodSeconds *int `json:"podTerminationGracePeriodSeconds,omitempty"`
	CleanupGracePeriodSeconds        *int `json:"cleanupGracePeriodSeconds,omitempty"`
	// UseInformers lets the executor watch job pods instead of polling
	// (grants pods list/watch). Default true.
	UseInformers *bool `json:"useInformers,omitempty"`
	// PrintPodWarningEvents prints pod warning events in job logs (grants
	// events list). Default true (runner 18.0 and later).
	PrintPodWarningEvents *bool `json:"printPodWarningEvents,omitempty"`
	// PodDisruptionBudget gives each job pod a PodDisruptionBudget (grants
	// policy/poddisruptionbudgets create/get).
	PodDisruptionBudget bool `json:"podDisruptionBudget,omitempty"`
	// ImagePullSecrets of job pods (existing Secrets of the job namespace).
	ImagePullSecrets []string `json:"imagePullSecrets,omitempty"`
	// RegistryCredentialsConfigKey names a secret stack setting holding a
	// Docker config JSON: the fleet makes a pull Secret for job pods.
	RegistryCredentialsConfigKey string `json:"registryCredentialsConfigKey,omitempty"`
	// HelperImage (pinned) or HelperImageFlavor replace the runner's helper image.
	HelperImage       string `json:"helperImage,omitempty"`
	HelperImageFlavor string `json:"helperImageFlavor,omitempty" enum:"alpine,alpine3.19,alpine3.21,alpine-latest,ubuntu,ubi-fips"`
	// ServiceAccountAnnotations, with ServiceAccount, make the fleet create
	// the job ServiceAccount with these annotations (a workload identity).
	ServiceAccountAnnotations map[string]string `json:"serviceAccountAnnotations,omitempty"`
	// Volumes of job pods.
	Volumes []JobVolume `json:"volumes,omitempty"`
	// DockerInDocker sets job pods up for Docker builds over TLS: a docker:dind
	// service, a shared certificate volume and DOCKER_* variables. Needs
	// Privileged (and so a node pool of its own).
	DockerInDocker bool `json:"dockerInDocker,omitempty"`
	// DockerInDockerImage is the dind service's image (default DefaultDockerInDockerImage).
	DockerInDockerImage string `json:"dockerInDockerImage,omitempty"`
	// Environment are variables of every job.
	Environment map[string]string `json:"environment,omitempty"`
	// AllowedImages and AllowedServices limit the images jobs may use (the
	// runner's wildcard patterns); empty: any.
	AllowedImages   []string `json:"allowedImages,omitempty"`
	AllowedServices []string `json:"allowedServices,omitempty"`
	// Services every job gets.
	Services []JobService `json:"services,omitempty"`
	// DNSPolicy, DNSConfig, PriorityClassName, SchedulerName, NodeAffinity
	// (required match expressions) and HostAliases of job pods.
	DNSPolicy         string            `json:"dnsPolicy,omitempty" enum:"ClusterFirst,ClusterFirstWithHostNet,Default,None"`
	DNSConfig         *DNSSettings      `json:"dnsConfig,omitempty"`
	PriorityClassName string            `json:"priorityClassName,omitempty"`
	SchedulerName     string            `json:"schedulerName,omitempty"`
	NodeAffinity      []NodeRequirement `json:"nodeAffinity,omitempty"`
	HostAliases       []HostAlias       `json:"hostAliases,omitempty"`
	// PodSpecPatches patch job pods' spec (the runner's advanced pod spec
	// configuration); the patched pod must still pass the namespace's level.
	PodSpecPatches []PodSpecPatchSettings `json:"podSpecPatches,omitempty"`
	// Overwrite bounds what a job's variables may change.
	Overwrite OverwriteSettings `json:"overwrite"`
	// ExtraConfig is TOML for [[runners]] keys not typed here (merged and
	// checked by runnerconfig).
	ExtraConfig string `json:"extraConfig,omitempty"`
	// FeatureFlags (FF_*) for `[runners.feature_flags]`; some change the RBAC rules.
	FeatureFlags map[string]bool `json:"featureFlags,omitempty"`
	// PodSecurity is the Pod Security level enforced on a created job
	// namespace: baseline (default), restricted or privileged. Job pods are
	// built to pass it (runnerconfig renders their security contexts), or
	// the settings are refused.
	PodSecurity string `json:"podSecurity,omitempty" enum:"restricted,baseline,privileged"`
	// RunAsUser, RunAsGroup and FSGroup of job pods (pod_security_context).
	// Default: the images' own users, or 1000 at the restricted level.
	RunAsUser  *int64 `json:"runAsUser,omitempty"`
	RunAsGroup *int64 `json:"runAsGroup,omitempty"`
	FSGroup    *int64 `json:"fsGroup,omitempty"`
	// RunAsNonRoot makes the kubelet refuse job containers that would run as
	// root. Default: true at the restricted level.
	RunAsNonRoot *bool `json:"runAsNonRoot,omitempty"`
	// AllowPrivilegeEscalation lets job processes gain privileges through
	// setuid binaries such as sudo. Default false (true for privileged jobs).
	AllowPrivilegeEscalation *bool `json:"allowPrivilegeEscalation,omitempty"`
	// Quota caps what the job namespace's pods use together (QuotaSettings).
	Quota QuotaSettings `json:"quota"`
}

// ContainerResources are Kubernetes quantities ("500m", "1Gi"); empty means unset.
type ContainerResources struct {
	// CPURequest, CPULimit, MemoryRequest and MemoryLimit are the
	// container's requests and limits.
	CPURequest    string `json:"cpuRequest,omitempty"`
	CPULimit      string `json:"cpuLimit,omitempty"`
	MemoryRequest string `json:"memoryRequest,omitempty"`
	MemoryLimit   string `json:"memoryLimit,omitempty"`
	// EphemeralStorageRequest and EphemeralStorageLimit cover the container's
	// writable layer and logs (job containers only).
	EphemeralStorageRequest string `json:"ephemeralStorageRequest,omitempty"`
	EphemeralStorageLimit   string `json:"ephemeralStorageLimit,omitempty"`
}

// Toleration lets pods schedule onto tainted nodes.
type Toleration struct {
	// Key is the taint's key.
	Key string `json:"key,omitempty"`
	// Operator: Equal (default) or Exists.
	Operator string `json:"operator,omitempty" enum:"Equal,Exists"`
	// Value is the taint's value (with operator Equal).
	Value string `json:"value,omitempty"`
	// Effect: NoSchedule, PreferNoSchedule, NoExecute, or empty for all.
	Effect string `json:"effect,omitempty" enum:",NoSchedule,PreferNoSchedule,NoExecute"`
}

// RunnerVersion is the GitLab Runner release of the managers: the
// runnerVersion setting, else the one in the image tag. The zero version
// when neither says (Validate reports it).
func (s FleetSettings) RunnerVersion() runnerversion.Version {
	if v, ok := runnerversion.Parse(s.Manager.RunnerVersion); ok {
		return v
	}
	v, _ := RunnerVersionOfImage(s.Manager.Image)
	return v
}

// ManagesRunner reports whether the fleet creates its runner in GitLab
// (rather than using an existing token).
func (s FleetSettings) ManagesRunner() bool { return s.TokenConfigKey == "" && s.TokenSecret == nil }

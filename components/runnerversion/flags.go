package runnerversion

// Feature flags the fleet sets itself, or that change what the runner asks
// of the API server (helpers/featureflags/flags.go).
const (
	// FFDisableTokenRotation stops a manager from rotating its token itself.
	FFDisableTokenRotation = "FF_DISABLE_AUTOMATIC_TOKEN_ROTATION"
	// FFAdvancedPodSpec applies [[runners.kubernetes.pod_spec]] patches.
	FFAdvancedPodSpec = "FF_USE_ADVANCED_POD_SPEC_CONFIGURATION"
	// FFLegacyExecution runs job scripts through exec rather than attach.
	FFLegacyExecution = "FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY"
	// FFHonorEntrypoint runs the image's entrypoint (reads pod logs).
	FFHonorEntrypoint = "FF_KUBERNETES_HONOR_ENTRYPOINT"
	// FFPrintPodEvents prints (and so watches) the job pod's events.
	FFPrintPodEvents = "FF_PRINT_POD_EVENTS"
	// FFWaitReachable waits for the pod to answer before running the job.
	FFWaitReachable = "FF_WAIT_FOR_POD_TO_BE_REACHABLE"
	// FFConcrete is the runner's newer job execution (reads pod logs).
	FFConcrete = "FF_CONCRETE"
	// FFSuspendable keeps job environments in PVCs and ConfigMaps.
	FFSuspendable = "FF_SUSPENDABLE_ENVIRONMENTS"
	// FFDumbInit runs job shells under dumb-init (copied by init-permissions).
	FFDumbInit = "FF_USE_DUMB_INIT_WITH_KUBERNETES_EXECUTOR"
	// FFDisableUmask adds an init container that records the build user.
	FFDisableUmask = "FF_DISABLE_UMASK_FOR_KUBERNETES_EXECUTOR"
	// FFPodActiveDeadline sets the job pod's activeDeadlineSeconds (on by default).
	FFPodActiveDeadline = "FF_USE_POD_ACTIVE_DEADLINE_SECONDS"
)

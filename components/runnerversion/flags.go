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
	// FFPodActiveDeadline sets a job pod's activeDeadlineSeconds to the job's
	// timeout (on by default).
	FFPodActiveDeadline = "FF_USE_POD_ACTIVE_DEADLINE_SECONDS"
	// FFConcrete is the runner's newer job execution (reads pod logs).
	FFConcrete = "FF_CONCRETE"
)

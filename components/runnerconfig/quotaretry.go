package runnerconfig

import "github.com/glrf/gitlab-runner-fleet/components/settings"

// quotaRefusal is what the API server's refusal says when a ResourceQuota
// of the job namespace has no room for a job's pod (or Secret, Service):
// `pods "runner-…" is forbidden: exceeded quota: …`. The runner retries a
// Kubernetes request whose error holds a key of retry_limits, as often as
// that key's value says; any other refusal fails the job at once.
const quotaRefusal = "exceeded quota"

// defaultPodGracePeriod is Kubernetes' terminationGracePeriodSeconds when
// a pod sets none.
const defaultPodGracePeriod = 30

// quotaRetries is how many times a manager tries to create a job's objects
// while the job namespace's quota is full, before it fails the job.
//
// Why a full quota is expected on a busy fleet: the quota allows what the
// fleets' slots run at once (replicas × concurrent jobs), but it counts a
// deleted pod until the pod is gone, or until its grace period has passed
// twice (the deletion timestamp is the request plus the grace period, and
// the quota stops counting a pod that much after it). A manager that ends a
// job deletes its pod and takes the next job at once, and a job container's
// shell, the container's first process, ignores SIGTERM: the old pod stays,
// counted, for the grace period. So when every slot is busy, the next job's
// pod comes while the last one's is still counted, and the quota refuses it.
//
// The window to outlast: twice the job pods' grace period (the one the
// runner's delete uses: cleanupGracePeriodSeconds, else the pod's own), and
// 30 seconds for the quota controller to see the pod gone. The runner waits
// 0.5 s, 1 s, then 2 s between tries (its default retry_backoff_max; a
// larger one from extraConfig only lengthens the window).
func quotaRetries(e settings.ExecutorSettings) int {
	grace := defaultPodGracePeriod
	if e.PodTerminationGracePeriodSeconds != nil {
		grace = *e.PodTerminationGracePeriodSeconds
	}
	if e.CleanupGracePeriodSeconds != nil {
		grace = *e.CleanupGracePeriodSeconds
	}
	window := 2*grace + 30
	// n tries wait 0.5 + 1 + 2(n-3) = 2n - 4.5 seconds in all: the window
	// and 1.5 s.
	return window/2 + 3
}

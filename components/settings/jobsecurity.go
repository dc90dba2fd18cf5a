package settings

import "k8s.io/utils/ptr"

// Default ids of job containers at the restricted level, when not set.
//
// The runner, unless told otherwise, gives job containers no runAsNonRoot,
// no allowPrivilegeEscalation=false and no seccomp profile: such pods pass
// `baseline` and fail `restricted`. At the restricted level the fleet
// therefore runs jobs as a non-root user and group unless settings name one
// (runnerconfig renders the security contexts and checks that the job pods
// pass the level).
const (
	DefaultJobUser  = 1000
	DefaultJobGroup = 1000
)

// jobSecurityDefaults fills in the job security settings a level implies.
func (e *ExecutorSettings) jobSecurityDefaults() {
	if e.PodSecurity != "restricted" {
		return
	}
	if e.RunAsNonRoot == nil {
		e.RunAsNonRoot = ptr.To(true)
	}
	if e.RunAsUser == nil {
		e.RunAsUser = ptr.To(int64(DefaultJobUser))
	}
	if e.RunAsGroup == nil {
		e.RunAsGroup = ptr.To(int64(DefaultJobGroup))
	}
	if e.FSGroup == nil {
		e.FSGroup = ptr.To(int64(DefaultJobGroup))
	}
}

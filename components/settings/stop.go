package settings

// StopMargin is the part of a manager's grace period left after the forceful
// stop's shutdown_timeout, for the kubelet's SIGTERM to arrive and the
// runner to exit.
//
// How a manager stops: the kubelet runs the pod's preStop hook, which asks
// the runner to stop gracefully (finish its running jobs, take no new one)
// and waits for it, at most DrainSeconds; then it sends SIGTERM, the runner's
// forceful stop, which aborts what is left within shutdown_timeout.
const StopMargin = 10

// DrainSeconds is how long a stopping manager may finish running jobs before
// the kubelet's SIGTERM aborts the rest: the grace period minus the time the
// forceful stop needs (shutdown_timeout) and StopMargin.
func (m ManagerSettings) DrainSeconds() int {
	return m.TerminationGracePeriodSeconds - m.ShutdownTimeout - StopMargin
}

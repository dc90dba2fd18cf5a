package components

import _ "embed"

// EntrypointScript is the runner manager container's entrypoint and preStop
// hook (see entrypoint.sh).
//
//go:embed entrypoint.sh
var EntrypointScript string

// PreStopCommand is the manager container's preStop hook: SIGQUIT to the
// runner, then wait for it to finish its jobs, at most DRAIN_SECONDS.
var PreStopCommand = []string{"/bin/sh", scriptDir + "/entrypoint.sh", "prestop"}

// StopMargin is the part of a manager's grace period left after the forceful
// stop's shutdown_timeout, for the kubelet's SIGTERM to arrive and the
// runner to exit.
const StopMargin = 10

// DrainSeconds is how long a stopping manager may finish running jobs before
// the kubelet's SIGTERM aborts the rest: the grace period minus the time the
// forceful stop needs (shutdown_timeout) and StopMargin.
func (m ManagerSettings) DrainSeconds() int {
	return m.TerminationGracePeriodSeconds - m.ShutdownTimeout - StopMargin
}

// registerBudgetSeconds bounds the sleeps between token verification
// attempts so that they end well inside the startup probe's window
// (startupPeriodSeconds × startupFailureThreshold), leaving room for the
// attempts themselves.
const (
	startupPeriodSeconds    = 10
	startupFailureThreshold = 60
	registerBudgetSeconds   = startupPeriodSeconds * startupFailureThreshold * 7 / 10
)

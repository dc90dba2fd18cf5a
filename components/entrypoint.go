package components

import _ "embed"

// EntrypointScript is the runner manager container's entrypoint (see entrypoint.sh).
//
//go:embed entrypoint.sh
var EntrypointScript string

// PreStopCommand turns Kubernetes' SIGTERM into the runner's graceful stop:
// the kubelet runs it before sending SIGTERM, it sends SIGQUIT to the runner
// (PID 1: the entrypoint execs it) and waits until the runner has finished its
// jobs and exited, bounded by terminationGracePeriodSeconds.
var PreStopCommand = []string{"/bin/sh", "-c", "kill -QUIT 1 && while kill -0 1 2>/dev/null; do sleep 1; done"}

package podrunner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// The kubelet's restart back-off: 10 s, doubled after each crash up to
// five minutes, back to 10 s once a container ran for ten minutes.
const (
	initialBackOff = 10 * time.Second
	maxBackOff     = 5 * time.Minute
	backOffReset   = 10 * time.Minute
	// configRetry is how soon a container that could not be created (a
	// missing Secret, say) is tried again.
	configRetry = 5 * time.Second
	// minGraceAfterPreStop is the least time SIGTERM gets, as with the
	// kubelet, however long the preStop hook took.
	minGraceAfterPreStop = 2 * time.Second
	// shutdownGrace is how long containers get when the runner itself
	// stops (`cluster stop`), before SIGKILL.
	shutdownGrace = 5 * time.Second
)

// containerRuntime runs one container of a pod for as long as the pod
// lives: starts it, probes it, restarts it with back-off, stops it.
type containerRuntime struct {
	w    *podWorker
	spec corev1.Container

	mu        sync.Mutex
	status    corev1.ContainerStatus
	proc      *process
	plan      *containerPlan
	stopGrace time.Duration
	stopCh    chan struct{} // closed to stop the container for good
	killReq   chan string   // a probe asks for a restart
	done      chan struct{} // closed when loop has ended
}

func newContainerRuntime(w *podWorker, spec corev1.Container, previous *corev1.ContainerStatus) *containerRuntime {
	c := &containerRuntime{
		w: w, spec: spec,
		stopCh:  make(chan struct{}),
		killReq: make(chan string, 1),
		done:    make(chan struct{}),
		status: corev1.ContainerStatus{
			Name: spec.Name, Image: spec.Image,
			State:   corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}},
			Started: ptr.To(false),
		},
	}
	// A container the runner ran before it restarted starts again as a
	// restart of that one.
	if previous != nil && (previous.State.Running != nil || previous.State.Terminated != nil || previous.RestartCount > 0) {
		c.status.RestartCount = previous.RestartCount + 1
		c.status.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 137, Reason: "Unknown",
			Message: "the pod runner restarted; the container's earlier process is gone",
		}}
	}
	return c
}

// snapshot is the container's status for the API.
func (c *containerRuntime) snapshot() corev1.ContainerStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return *c.status.DeepCopy()
}

func (c *containerRuntime) update(f func(s *corev1.ContainerStatus)) {
	c.mu.Lock()
	f(&c.status)
	c.mu.Unlock()
	c.w.markDirty()
}

func (c *containerRuntime) setWaiting(reason, message string) {
	c.update(func(s *corev1.ContainerStatus) {
		s.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}
		s.Ready, s.Started = false, ptr.To(false)
	})
}

func (c *containerRuntime) setReady(ready bool) {
	c.mu.Lock()
	changed := c.status.Ready != ready && c.status.State.Running != nil
	if changed {
		c.status.Ready = ready
	}
	c.mu.Unlock()
	if changed {
		c.w.markDirty()
	}
}

func (c *containerRuntime) identity() identity {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.plan == nil {
		return identity{}
	}
	return c.plan.id
}

func (c *containerRuntime) stopping() bool {
	select {
	case <-c.stopCh:
		return true
	default:
		return false
	}
}

// stop stops the container for good, giving it grace (preStop, SIGTERM,
// SIGKILL), and returns once its process is gone.
func (c *containerRuntime) stop(grace time.Duration) {
	c.mu.Lock()
	if !c.stopping() {
		c.stopGrace = grace
		close(c.stopCh)
	}
	c.mu.Unlock()
	<-c.done
}

// sleep waits d, and reports false when the container is stopped or the
// runner ends first.
func (c *containerRuntime) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.stopCh:
		return false
	case <-ctx.Done():
		return false
	}
}

// waitingReason is the reason a container waits after err.
func waitingReason(err error) string {
	var ie imageError
	var ce configError
	switch {
	case errors.As(err, &ie):
		return "ErrImagePull"
	case errors.As(err, &ce):
		return "CreateContainerConfigError"
	}
	return "CreateContainerError"
}

// loop is the container's life.
func (c *containerRuntime) loop(ctx context.Context) {
	defer close(c.done)
	backOff := initialBackOff
	for !c.stopping() && ctx.Err() == nil {
		pod := c.w.currentPod()
		restart := c.snapshot().RestartCount
		plan, err := c.w.planContainer(ctx, pod, &c.spec, restart)
		if err != nil {
			c.setWaiting(waitingReason(err), err.Error())
			c.w.event(corev1.EventTypeWarning, "Failed", c.spec.Name, "Error: %v", err)
			if !c.sleep(ctx, configRetry) {
				return
			}
			continue
		}
		started := time.Now()
		exit, message, reason := c.run(ctx, pod, plan, restart)
		finished := time.Now()
		c.update(func(s *corev1.ContainerStatus) {
			s.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: exit, Reason: reason, Message: message,
				StartedAt: metav1.NewTime(started), FinishedAt: metav1.NewTime(finished),
				ContainerID: s.ContainerID,
			}}
			s.Ready, s.Started = false, ptr.To(false)
		})
		c.mu.Lock()
		c.proc = nil
		c.mu.Unlock()
		if c.stopping() || ctx.Err() != nil || !restartAfter(pod.Spec.RestartPolicy, exit) {
			return
		}
		if finished.Sub(started) > backOffReset {
			backOff = initialBackOff
		}
		last := c.snapshot().State
		c.update(func(s *corev1.ContainerStatus) {
			s.LastTerminationState = last
			s.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
				Reason:  "CrashLoopBackOff",
				Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", backOff, c.spec.Name, pod.Name, pod.Namespace, pod.UID),
			}}
		})
		c.w.event(corev1.EventTypeWarning, "BackOff", c.spec.Name, "Back-off restarting failed container %s in pod %s", c.spec.Name, pod.Name)
		if !c.sleep(ctx, backOff) {
			return
		}
		backOff = min(backOff*2, maxBackOff)
		c.update(func(s *corev1.ContainerStatus) { s.RestartCount++ })
	}
}

// restartAfter applies the pod's restart policy to an exit code.
func restartAfter(policy corev1.RestartPolicy, exit int32) bool {
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return exit != 0
	}
	return true
}

// run starts the container and returns how it ended: exit code, message
// and reason.
func (c *containerRuntime) run(ctx context.Context, pod *corev1.Pod, plan *containerPlan, restart int32) (int32, string, string) {
	logPath := containerLogPath(c.w.r.cfg.LogDir, pod.Namespace, pod.Name, string(pod.UID), c.spec.Name, restart)
	log, err := openLog(logPath)
	if err != nil {
		return 128, err.Error(), "StartError"
	}
	defer log.release()
	_ = os.WriteFile(c.w.terminationLog(c.spec.Name), nil, 0o666)
	containerID := fmt.Sprintf("podrunner://%s-%s-%d", pod.UID, c.spec.Name, restart)
	var proc *process
	err = c.w.currentSandbox().in(func(ns netns.NsHandle) error {
		var err error
		proc, err = c.w.r.startContainer(ns, &plan.spec, log)
		return err
	})
	if err != nil {
		c.w.event(corev1.EventTypeWarning, "Failed", c.spec.Name, "Error: %v", err)
		c.update(func(s *corev1.ContainerStatus) { s.ContainerID = containerID })
		return 128, err.Error(), "StartError"
	}
	c.mu.Lock()
	c.proc, c.plan = proc, plan
	c.mu.Unlock()
	c.w.log.Info("container started", "container", c.spec.Name, "pid", proc.pid, "restart", restart)
	c.update(func(s *corev1.ContainerStatus) {
		s.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}
		s.ContainerID = containerID
		s.ImageID = "podrunner://" + plan.imageDir
		s.Ready, s.Started = false, ptr.To(false)
	})
	c.w.event(corev1.EventTypeNormal, "Started", c.spec.Name, "Started container %s", c.spec.Name)
	probeCtx, cancelProbes := context.WithCancel(ctx)
	go c.probe(probeCtx, proc)
	c.waitRun(ctx, pod, proc)
	cancelProbes()
	exit := exitCode(proc.ws)
	reason := "Completed"
	if exit != 0 {
		reason = "Error"
	}
	return exit, c.terminationMessage(), reason
}

// terminationMessage is what the container wrote to its termination log.
func (c *containerRuntime) terminationMessage() string {
	data, err := os.ReadFile(c.w.terminationLog(c.spec.Name))
	if err != nil {
		return ""
	}
	if len(data) > 4096 {
		data = data[:4096]
	}
	return strings.TrimSpace(string(data))
}

// waitRun waits for the process to end, or ends it: the container being
// stopped, a probe asking for a restart, the runner stopping.
func (c *containerRuntime) waitRun(ctx context.Context, pod *corev1.Pod, proc *process) {
	select {
	case <-proc.done:
	case <-c.stopCh:
		c.mu.Lock()
		grace := c.stopGrace
		c.mu.Unlock()
		c.w.event(corev1.EventTypeNormal, "Killing", c.spec.Name, "Stopping container %s", c.spec.Name)
		c.kill(proc, grace)
	case reason := <-c.killReq:
		c.w.event(corev1.EventTypeNormal, "Killing", c.spec.Name, "%s", reason)
		c.kill(proc, c.probeGrace(pod))
	case <-ctx.Done():
		proc.signal(syscall.SIGTERM)
		select {
		case <-proc.done:
		case <-time.After(shutdownGrace):
			proc.signal(syscall.SIGKILL)
			<-proc.done
		}
	}
}

// probeGrace is the grace of a container killed by a failed probe.
func (c *containerRuntime) probeGrace(pod *corev1.Pod) time.Duration {
	for _, p := range []*corev1.Probe{c.spec.LivenessProbe, c.spec.StartupProbe} {
		if p != nil && p.TerminationGracePeriodSeconds != nil {
			return time.Duration(*p.TerminationGracePeriodSeconds) * time.Second
		}
	}
	return time.Duration(ptr.Deref(pod.Spec.TerminationGracePeriodSeconds, corev1.DefaultTerminationGracePeriodSeconds)) * time.Second
}

// kill stops a running container as the kubelet does: the preStop hook,
// then SIGTERM to PID 1, then SIGKILL once grace (counted from the start,
// the hook included) is over. It returns once the process has exited.
func (c *containerRuntime) kill(proc *process, grace time.Duration) {
	deadline := time.Now().Add(grace)
	if l := c.spec.Lifecycle; l != nil && l.PreStop != nil && grace > 0 {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		ok, msg := c.runLifecycleHandler(ctx, l.PreStop, proc)
		cancel()
		if !ok {
			c.w.event(corev1.EventTypeWarning, "FailedPreStopHook", c.spec.Name, "PreStopHook failed: %s", msg)
		}
	}
	proc.signal(syscall.SIGTERM)
	remaining := max(time.Until(deadline), minGraceAfterPreStop)
	select {
	case <-proc.done:
	case <-time.After(remaining):
		c.w.log.Info("grace period over: SIGKILL", "container", c.spec.Name, "pid", proc.pid)
		proc.signal(syscall.SIGKILL)
		<-proc.done
	}
}

// runLifecycleHandler runs a hook.
func (c *containerRuntime) runLifecycleHandler(ctx context.Context, h *corev1.LifecycleHandler, proc *process) (bool, string) {
	if h.Sleep != nil {
		select {
		case <-time.After(time.Duration(h.Sleep.Seconds) * time.Second):
		case <-ctx.Done():
		}
		return true, ""
	}
	return c.runHandler(ctx, corev1.ProbeHandler{Exec: h.Exec, HTTPGet: h.HTTPGet, TCPSocket: h.TCPSocket}, proc)
}

// probe runs the startup probe until it succeeds, then the liveness and
// readiness probes for as long as the process runs.
func (c *containerRuntime) probe(ctx context.Context, proc *process) {
	if p := c.spec.StartupProbe; p != nil {
		ok := c.probeWorker(ctx, p, proc, "Startup", func(ok bool) bool { return true })
		if ctx.Err() != nil {
			return
		}
		if !ok {
			c.requestKill(fmt.Sprintf("Container %s failed startup probe, will be restarted", c.spec.Name))
			return
		}
	}
	c.update(func(s *corev1.ContainerStatus) {
		if s.State.Running != nil {
			s.Started = ptr.To(true)
			if c.spec.ReadinessProbe == nil {
				s.Ready = true
			}
		}
	})
	if p := c.spec.LivenessProbe; p != nil {
		go func() {
			if !c.probeWorker(ctx, p, proc, "Liveness", func(ok bool) bool { return !ok }) && ctx.Err() == nil {
				c.requestKill(fmt.Sprintf("Container %s failed liveness probe, will be restarted", c.spec.Name))
			}
		}()
	}
	if p := c.spec.ReadinessProbe; p != nil {
		go c.probeWorker(ctx, p, proc, "Readiness", func(ok bool) bool {
			c.setReady(ok)
			return false
		})
	}
}

func (c *containerRuntime) requestKill(reason string) {
	select {
	case c.killReq <- reason:
	default:
	}
}

// probeWorker runs p every period after its initial delay, turns results
// into a state with the probe's success and failure thresholds, and calls
// changed on each new state until it returns true; it returns the last
// state.
func (c *containerRuntime) probeWorker(ctx context.Context, p *corev1.Probe, proc *process, kind string, changed func(ok bool) bool) bool {
	period := time.Duration(max(p.PeriodSeconds, 1)) * time.Second
	successThreshold, failureThreshold := max(p.SuccessThreshold, 1), max(p.FailureThreshold, 1)
	if !c.sleep(ctx, time.Duration(p.InitialDelaySeconds)*time.Second) {
		return false
	}
	var successes, failures int32
	state, known := false, false
	for {
		ok, msg := c.runProbe(ctx, p, proc)
		if ctx.Err() != nil {
			return state
		}
		if ok {
			successes, failures = successes+1, 0
		} else {
			successes, failures = 0, failures+1
			c.w.event(corev1.EventTypeWarning, "Unhealthy", c.spec.Name, "%s probe failed: %s", kind, msg)
		}
		next := state
		switch {
		case successes >= successThreshold:
			next = true
		case failures >= failureThreshold:
			next = false
		}
		if !known || next != state {
			if successes >= successThreshold || failures >= failureThreshold {
				state, known = next, true
				if changed(state) {
					return state
				}
			}
		}
		if !c.sleep(ctx, period) {
			return state
		}
	}
}

package podrunner

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// volumeSyncPeriod is how often a pod's volumes are rewritten from the API
// (the kubelet's sync period is about a minute): changed ConfigMaps and
// Secrets and renewed tokens reach running containers.
const volumeSyncPeriod = time.Minute

// sandboxRetry is how soon a pod whose sandbox or volumes failed is tried
// again.
const sandboxRetry = 5 * time.Second

// podWorker runs one pod, from its first sight to its removal.
type podWorker struct {
	r   *Runner
	log *slog.Logger
	dir string // the pod's folder in the runner's tmpfs

	updates chan *corev1.Pod // latest version wins
	gone    chan struct{}    // closed when the pod left the API
	goneSet sync.Once
	done    chan struct{} // closed when the worker has finished
	dirty   chan struct{} // a status write is due

	mu           sync.Mutex
	pod          *corev1.Pod
	podIP        net.IP
	startTime    metav1.Time
	sandbox      *sandbox
	volumes      *volumes
	containers   []*containerRuntime
	sandboxReady bool
	// started is set once the containers' loops run (only the worker's
	// goroutine reads and writes it).
	started bool
}

func newPodWorker(r *Runner, pod *corev1.Pod, podIP net.IP) *podWorker {
	w := &podWorker{
		r:       r,
		log:     r.log.With("pod", pod.Namespace+"/"+pod.Name, "uid", pod.UID),
		dir:     filepath.Join(r.podsDir(), string(pod.UID)),
		updates: make(chan *corev1.Pod, 1),
		gone:    make(chan struct{}),
		done:    make(chan struct{}),
		dirty:   make(chan struct{}, 1),
		pod:     pod,
		podIP:   podIP,
	}
	w.startTime = metav1.Now()
	if pod.Status.StartTime != nil {
		w.startTime = *pod.Status.StartTime
	}
	w.volumes = newVolumes(filepath.Join(w.dir, "volumes"), pod, r.src, newTokens(r.cs))
	previous := map[string]*corev1.ContainerStatus{}
	for i := range pod.Status.ContainerStatuses {
		previous[pod.Status.ContainerStatuses[i].Name] = &pod.Status.ContainerStatuses[i]
	}
	for _, c := range pod.Spec.Containers {
		w.containers = append(w.containers, newContainerRuntime(w, c, previous[c.Name]))
	}
	return w
}

// update hands the worker a newer version of its pod.
func (w *podWorker) update(pod *corev1.Pod) {
	for {
		select {
		case w.updates <- pod:
			return
		default:
		}
		select {
		case <-w.updates:
		default:
		}
	}
}

// currentSandbox is the pod's sandbox (nil before it exists and after its
// teardown).
func (w *podWorker) currentSandbox() *sandbox {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sandbox
}

// markGone tells the worker its pod left the API.
func (w *podWorker) markGone() { w.goneSet.Do(func() { close(w.gone) }) }

func (w *podWorker) currentPod() *corev1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod
}

func (w *podWorker) markDirty() {
	select {
	case w.dirty <- struct{}{}:
	default:
	}
}

func (w *podWorker) hostsFile() string { return filepath.Join(w.dir, "etc-hosts") }
func (w *podWorker) terminationLog(c string) string {
	return filepath.Join(w.dir, "termination-log", c)
}

func (w *podWorker) event(kind, reason, container, format string, args ...any) {
	w.r.event(w.currentPod(), kind, reason, container, fmt.Sprintf(format, args...))
}

// unsupported names what of the pod this runner cannot run faithfully.
func unsupported(pod *corev1.Pod) string {
	switch {
	case len(pod.Spec.InitContainers) > 0:
		return "init containers are not supported by the local pod runner"
	case len(pod.Spec.EphemeralContainers) > 0:
		return "ephemeral containers are not supported by the local pod runner"
	case pod.Spec.HostNetwork || pod.Spec.HostPID || pod.Spec.HostIPC:
		return "host namespaces (hostNetwork, hostPID, hostIPC) are not supported by the local pod runner"
	case pod.Spec.ShareProcessNamespace != nil && *pod.Spec.ShareProcessNamespace:
		return "shareProcessNamespace is not supported by the local pod runner"
	}
	for _, c := range pod.Spec.Containers {
		if c.Lifecycle != nil && c.Lifecycle.PostStart != nil {
			return "postStart hooks are not supported by the local pod runner (container " + c.Name + ")"
		}
		if c.Stdin || c.TTY {
			return "stdin and tty containers are not supported by the local pod runner (container " + c.Name + ")"
		}
	}
	return ""
}

// run is the pod's life.
func (w *podWorker) run(ctx context.Context) {
	defer close(w.done)
	statusDone := make(chan struct{})
	statusCtx, stopStatus := context.WithCancel(context.Background())
	go func() {
		defer close(statusDone)
		w.statusLoop(statusCtx)
	}()
	defer func() {
		stopStatus()
		<-statusDone
	}()
	w.markDirty()

	if why := unsupported(w.currentPod()); why != "" {
		w.setWaiting("CreateContainerConfigError", why)
		w.event(corev1.EventTypeWarning, "Failed", "", "%s", why)
	}
	retry := time.NewTimer(0)
	defer retry.Stop()
	sync := time.NewTicker(volumeSyncPeriod)
	defer sync.Stop()
	for {
		select {
		case <-ctx.Done():
			w.shutdown()
			return
		case <-w.gone:
			w.finish(0, false)
			return
		case pod := <-w.updates:
			w.mu.Lock()
			w.pod = pod
			w.mu.Unlock()
			if pod.DeletionTimestamp != nil {
				grace := time.Duration(ptr.Deref(pod.DeletionGracePeriodSeconds, 0)) * time.Second
				w.finish(grace, true)
				return
			}
		case <-sync.C:
			if w.started {
				if err := w.volumes.sync(ctx, w.currentPod()); err != nil {
					w.log.Warn("volume sync", "err", err)
				}
			}
		case <-retry.C:
			if w.started || unsupported(w.currentPod()) != "" {
				continue
			}
			if err := w.prepare(ctx); err != nil {
				w.log.Warn("pod not ready to start", "err", err)
				retry.Reset(sandboxRetry)
				continue
			}
			w.started = true
			for _, c := range w.containers {
				go c.loop(ctx)
			}
		}
	}
}

// prepare creates the sandbox and the volumes.
func (w *podWorker) prepare(ctx context.Context) error {
	pod := w.currentPod()
	if w.sandbox == nil {
		if err := os.MkdirAll(w.dir, 0o755); err != nil {
			return err
		}
		if err := writeHostsFile(w.hostsFile(), pod, w.podIP); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(w.terminationLog("x")), 0o755); err != nil {
			return err
		}
		s, err := newSandbox(w.log, w.r.cfg, w.podIP)
		if err != nil {
			w.setWaiting("ContainerCreating", "sandbox: "+err.Error())
			w.event(corev1.EventTypeWarning, "FailedCreatePodSandBox", "", "Failed to create pod sandbox: %v", err)
			return err
		}
		w.mu.Lock()
		w.sandbox, w.sandboxReady = s, true
		w.mu.Unlock()
		w.markDirty()
	}
	if err := w.volumes.sync(ctx, pod); err != nil {
		w.setWaiting("ContainerCreating", err.Error())
		w.event(corev1.EventTypeWarning, "FailedMount", "", "MountVolume.SetUp failed: %v", err)
		return err
	}
	return nil
}

// setWaiting sets why the pod's containers have not started yet.
func (w *podWorker) setWaiting(reason, message string) {
	for _, c := range w.containers {
		c.setWaiting(reason, message)
	}
}

// finish stops the containers with grace (preStop, SIGTERM, SIGKILL),
// removes the sandbox and volumes and, when the pod still exists, removes
// it from the API: only now that its processes are gone.
func (w *podWorker) finish(grace time.Duration, remove bool) {
	w.log.Info("stopping pod", "grace", grace)
	if w.started {
		var wg sync.WaitGroup
		for _, c := range w.containers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.stop(grace)
			}()
		}
		wg.Wait()
	}
	w.teardown()
	if !remove {
		return
	}
	// A last status with the containers terminated, then the removal, both
	// tied to this very pod (a new one of the same name is another pod).
	w.writeStatus(context.Background())
	pod := w.currentPod()
	err := w.r.cs.CoreV1().Pods(pod.Namespace).Delete(context.Background(), pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		w.log.Error("remove the pod", "err", err)
		return
	}
	w.log.Info("pod removed")
}

// shutdown stops the containers at once (the runner itself stops); the pod
// stays in the API, to be started again by the next runner.
func (w *podWorker) shutdown() {
	if w.started {
		for _, c := range w.containers {
			<-c.done
		}
	}
	w.teardown()
}

// teardown removes the sandbox, the volumes and the pod's folder.
func (w *podWorker) teardown() {
	w.mu.Lock()
	s := w.sandbox
	w.sandbox = nil
	w.mu.Unlock()
	if s != nil {
		s.close()
	}
	if err := w.volumes.teardown(); err != nil {
		w.log.Warn("volume teardown", "err", err)
	}
	_ = os.RemoveAll(w.dir)
	w.r.ipam.release(string(w.currentPod().UID))
}

package podrunner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/tools/reference"
	"k8s.io/utils/ptr"

	"golang.org/x/sys/unix"
)

// RunCommand is the subcommand of the cluster binary that runs the pod
// runner.
const RunCommand = "pod-runner"

// Runner runs the selected pods of its nodes.
type Runner struct {
	cfg      Config
	log      *slog.Logger
	cs       kubernetes.Interface
	src      sources
	children *children
	ipam     *ipam
	nodes    map[string]bool

	events    record.EventBroadcaster
	recorders sync.Map // node name → record.EventRecorder

	mu      sync.Mutex
	workers map[types.UID]*podWorker
	wg      sync.WaitGroup
	ready   chan struct{} // closed once the pods are watched
}

func (r *Runner) podsDir() string { return filepath.Join(r.cfg.StateDir, "pods") }

// Run runs pods until ctx ends, then stops their containers (the pods stay
// in the API for the next run) and returns.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if os.Getpid() != 1 {
		return errors.New("the pod runner must be PID 1 of a PID namespace of its own, with a mount namespace of its own (so that its processes and mounts die with it): `cluster start` starts it so")
	}
	if err := privateMounts(cfg.StateDir); err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.LogDir, 0o755); err != nil {
		return err
	}
	rc, err := clientcmd.BuildConfigFromFlags("", cfg.Kubeconfig)
	if err != nil {
		return err
	}
	rc.QPS, rc.Burst = 50, 100
	rc.UserAgent = "glrf-pod-runner"
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	ip, err := newIPAM(cfg.PodCIDR)
	if err != nil {
		return err
	}
	r := &Runner{
		cfg: cfg, log: log, cs: cs, src: apiSources{cs}, children: newChildren(), ipam: ip,
		nodes: map[string]bool{}, workers: map[types.UID]*podWorker{}, ready: make(chan struct{}),
	}
	for _, n := range cfg.Nodes {
		r.nodes[n] = true
	}
	reapCtx, stopReaping := context.WithCancel(context.Background())
	defer stopReaping()
	go r.children.reapLoop(reapCtx)

	r.events = record.NewBroadcaster(record.WithContext(ctx))
	r.events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cs.CoreV1().Events("")})
	defer r.events.Shutdown()

	server, err := r.serveKubelet()
	if err != nil {
		return err
	}
	defer server.Close()

	if err := r.claimExistingIPs(ctx); err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector = cfg.Selector
	}))
	pods := factory.Core().V1().Pods().Informer()
	_, err = pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { r.handle(ctx, obj, false) },
		UpdateFunc: func(_, obj any) { r.handle(ctx, obj, false) },
		DeleteFunc: func(obj any) { r.handle(ctx, obj, true) },
	})
	if err != nil {
		return err
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), pods.HasSynced) {
		return ctx.Err()
	}
	close(r.ready)
	log.Info("pod runner ready", "selector", cfg.Selector, "nodes", cfg.Nodes, "listen", cfg.Listen)
	<-ctx.Done()
	log.Info("pod runner stopping")
	factory.Shutdown()
	r.wg.Wait()
	return nil
}

// privateMounts detaches the runner's mounts from the host's, gives it the
// /proc of its PID namespace, and a tmpfs for its state.
func privateMounts(stateDir string) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private (is the runner in a mount namespace of its own?): %w", err)
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /proc: %w", err)
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", stateDir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0700"); err != nil {
		return fmt.Errorf("mount a tmpfs on %s: %w", stateDir, err)
	}
	return nil
}

// claimExistingIPs gives the pods found from an earlier run their IPs back.
func (r *Runner) claimExistingIPs(ctx context.Context) error {
	list, err := r.cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: r.cfg.Selector})
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	for _, p := range list.Items {
		if r.nodes[p.Spec.NodeName] && p.Status.PodIP != "" {
			if _, err := r.ipam.claim(string(p.UID), p.Status.PodIP); err != nil {
				return err
			}
		}
	}
	return nil
}

// handle routes an informer event to the pod's worker, starting one for a
// new pod on the runner's nodes.
func (r *Runner) handle(ctx context.Context, obj any, deleted bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.workers[pod.UID]
	switch {
	case deleted:
		if w != nil {
			w.markGone()
		}
	case w != nil:
		w.update(pod)
	case !r.nodes[pod.Spec.NodeName] || ctx.Err() != nil:
	case pod.DeletionTimestamp != nil:
		// Deleted while no runner ran it: no process of it is left.
		go r.remove(pod)
	case pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed:
		// Finished pods are not run again.
	default:
		ip, err := r.ipam.claim(string(pod.UID), pod.Status.PodIP)
		if err != nil {
			r.log.Error("no IP for the pod", "pod", pod.Namespace+"/"+pod.Name, "err", err)
			return
		}
		w = newPodWorker(r, pod, ip)
		r.workers[pod.UID] = w
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			w.run(ctx)
			r.mu.Lock()
			delete(r.workers, pod.UID)
			r.mu.Unlock()
		}()
	}
}

// remove deletes a pod that has no process.
func (r *Runner) remove(pod *corev1.Pod) {
	r.ipam.release(string(pod.UID))
	err := r.cs.CoreV1().Pods(pod.Namespace).Delete(context.Background(), pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		r.log.Error("remove the pod", "pod", pod.Namespace+"/"+pod.Name, "err", err)
	}
}

// worker is the worker of the pod namespace/name, if the runner runs it.
func (r *Runner) worker(namespace, name string) *podWorker {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, w := range r.workers {
		if p := w.currentPod(); p.Namespace == namespace && p.Name == name {
			return w
		}
	}
	return nil
}

// event records an event about pod (and one of its containers).
func (r *Runner) event(pod *corev1.Pod, kind, reason, container, message string) {
	rec, ok := r.recorders.Load(pod.Spec.NodeName)
	if !ok {
		rec, _ = r.recorders.LoadOrStore(pod.Spec.NodeName, r.events.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "pod-runner", Host: pod.Spec.NodeName}))
	}
	ref, err := reference.GetReference(scheme.Scheme, pod)
	if err != nil {
		return
	}
	if container != "" {
		ref.FieldPath = "spec.containers{" + container + "}"
	}
	rec.(record.EventRecorder).Event(ref, kind, reason, message)
}

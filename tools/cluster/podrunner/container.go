package podrunner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/vishvananda/netns"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// imageError is an image the runner has no host folder for: the container
// waits with ErrImagePull, as one whose image cannot be pulled.
type imageError struct{ image string }

func (e imageError) Error() string {
	return fmt.Sprintf("image %s: no host folder is mapped to repository %s (cluster start --image %s=FOLDER)", e.image, Repository(e.image), Repository(e.image))
}

// containerPlan is what starting one container takes.
type containerPlan struct {
	spec     initSpec
	id       identity
	imageDir string
}

// isReadOnlyVolume tells the volumes the kubelet always mounts read-only.
func isReadOnlyVolume(v *corev1.Volume) bool {
	s := v.VolumeSource
	return s.ConfigMap != nil || s.Secret != nil || s.DownwardAPI != nil || s.Projected != nil
}

// planContainer turns a container of the pod into what the container init
// needs: the command, environment, user and filesystem, refusing what this
// runner cannot do faithfully.
func (w *podWorker) planContainer(ctx context.Context, pod *corev1.Pod, c *corev1.Container, restart int32) (*containerPlan, error) {
	imageDir, ok := w.r.cfg.Images[Repository(c.Image)]
	if !ok {
		return nil, imageError{c.Image}
	}
	id, err := containerIdentity(pod, c)
	if err != nil {
		return nil, err
	}
	// The addresses come from the sandbox, not from the pod's status,
	// which may not have them yet.
	pod = pod.DeepCopy()
	pod.Status.PodIP, pod.Status.PodIPs = w.podIP.String(), []corev1.PodIP{{IP: w.podIP.String()}}
	pod.Status.HostIP, pod.Status.HostIPs = w.r.cfg.NodeIP, []corev1.HostIP{{IP: w.r.cfg.NodeIP}}
	env, err := containerEnv(ctx, w.r.src, pod, c)
	if err != nil {
		return nil, err
	}
	// The image's environment first (what its ENV would give), the
	// container's over it.
	hostname := podHostname(pod)
	full := map[string]string{"PATH": imageDefaultPath, "HOME": "/", "HOSTNAME": hostname}
	for k, v := range env {
		full[k] = v
	}
	id.Env = environ(full)
	lookup := func(name string) (string, bool) { v, ok := env[name]; return v, ok }
	var argv []string
	for _, a := range append(append([]string{}, c.Command...), c.Args...) {
		argv = append(argv, expand(a, lookup))
	}
	if len(c.Command) == 0 {
		return nil, configErrorf("container %s has no command: the image's entrypoint is unknown to this pod runner, set command", c.Name)
	}
	root := rootSpec{
		Scratch: filepath.Join(w.dir, "containers", c.Name),
		Tmpfs:   []string{"/tmp"},
		Masks:   w.r.cfg.MaskDirs,
		Binds: []bindMount{
			{Source: imageDir, Target: ImageBinDir, ReadOnly: true},
			{Source: w.hostsFile(), Target: "/etc/hosts", ReadOnly: true},
		},
		ReadOnly: c.SecurityContext != nil && ptr.Deref(c.SecurityContext.ReadOnlyRootFilesystem, false),
	}
	if q, ok := c.Resources.Limits[corev1.ResourceEphemeralStorage]; ok {
		root.ScratchSize = q.Value()
	}
	if err := os.MkdirAll(root.Scratch, 0o700); err != nil {
		return nil, err
	}
	if c.TerminationMessagePath != "" {
		msg := w.terminationLog(c.Name)
		if err := os.WriteFile(msg, nil, 0o666); err != nil {
			return nil, err
		}
		if err := os.Chmod(msg, 0o666); err != nil {
			return nil, err
		}
		root.Binds = append(root.Binds, bindMount{Source: msg, Target: c.TerminationMessagePath})
	}
	mounts, err := w.volumeMounts(pod, c, lookup)
	if err != nil {
		return nil, err
	}
	root.Binds = append(root.Binds, mounts...)
	return &containerPlan{
		spec: initSpec{
			Root: root, Hostname: hostname, Argv: argv, Env: id.Env, WorkingDir: c.WorkingDir,
			UID: id.UID, GID: id.GID, Groups: id.Groups, NoNewPrivs: id.NoNewPrivs,
		},
		id:       id,
		imageDir: imageDir,
	}, nil
}

// podHostname is the pod's hostname: spec.hostname, or its name.
func podHostname(pod *corev1.Pod) string {
	if pod.Spec.Hostname != "" {
		return pod.Spec.Hostname
	}
	return pod.Name
}

// containerIdentity is the user, groups and privileges of a container:
// its security context over the pod's. Root and privileged containers are
// refused: they would be root on this machine.
func containerIdentity(pod *corev1.Pod, c *corev1.Container) (identity, error) {
	var uid, gid *int64
	var groups []uint32
	if psc := pod.Spec.SecurityContext; psc != nil {
		uid, gid = psc.RunAsUser, psc.RunAsGroup
		if psc.FSGroup != nil {
			groups = append(groups, uint32(*psc.FSGroup))
		}
		for _, g := range psc.SupplementalGroups {
			groups = append(groups, uint32(g))
		}
	}
	noNewPrivs := false
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			uid = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			gid = sc.RunAsGroup
		}
		if ptr.Deref(sc.Privileged, false) {
			return identity{}, configErrorf("container %s is privileged: this pod runner runs containers as host processes and refuses privileged ones", c.Name)
		}
		if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
			noNewPrivs = true
		}
	}
	if uid == nil || *uid == 0 {
		return identity{}, configErrorf("container %s would run as root: this pod runner runs containers as host processes and refuses uid 0; set securityContext.runAsUser", c.Name)
	}
	if gid == nil {
		return identity{}, configErrorf("container %s has no runAsGroup: a runtime would take the image's group, which this pod runner cannot read; set securityContext.runAsGroup", c.Name)
	}
	return identity{UID: uint32(*uid), GID: uint32(*gid), Groups: groups, WorkingDir: c.WorkingDir, NoNewPrivs: noNewPrivs}, nil
}

// volumeMounts are a container's volume mounts as bind mounts.
func (w *podWorker) volumeMounts(pod *corev1.Pod, c *corev1.Container, lookup func(string) (string, bool)) ([]bindMount, error) {
	byName := map[string]*corev1.Volume{}
	for i := range pod.Spec.Volumes {
		byName[pod.Spec.Volumes[i].Name] = &pod.Spec.Volumes[i]
	}
	var out []bindMount
	for _, m := range c.VolumeMounts {
		vol, ok := byName[m.Name]
		if !ok {
			return nil, configErrorf("volume mount %s: no volume %q in the pod", m.MountPath, m.Name)
		}
		source := w.volumes.path(m.Name)
		sub := m.SubPath
		if m.SubPathExpr != "" {
			sub = expand(m.SubPathExpr, lookup)
		}
		if sub != "" {
			resolved, err := subPathSource(source, sub, vol.EmptyDir != nil)
			if err != nil {
				return nil, configErrorf("volume mount %s: %w", m.MountPath, err)
			}
			source = resolved
		}
		out = append(out, bindMount{Source: source, Target: m.MountPath, ReadOnly: m.ReadOnly || isReadOnlyVolume(vol)})
	}
	return out, nil
}

// subPathSource resolves sub inside the volume folder root, refusing any
// path (or link) that leads out of it; a missing one is created in an
// emptyDir, as the kubelet does.
func subPathSource(root, sub string, create bool) (string, error) {
	if filepath.IsAbs(sub) || strings.Contains(filepath.ToSlash(sub), "..") {
		return "", fmt.Errorf("subPath %q must be a relative path without '..'", sub)
	}
	p := filepath.Join(root, sub)
	if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) && create {
		if err := os.MkdirAll(p, 0o777); err != nil {
			return "", err
		}
	}
	resolved, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", err
	}
	rootResolved, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", err
	}
	if resolved != rootResolved && !strings.HasPrefix(resolved, rootResolved+string(filepath.Separator)) {
		return "", fmt.Errorf("subPath %q leads out of the volume", sub)
	}
	return resolved, nil
}

// startContainer starts the container init in new PID, mount, UTS and IPC
// namespaces inside the pod's network namespace, hands it the plan, and
// returns once the container's command runs (or failed to start). Its
// output goes to log.
func (r *Runner) startContainer(ns netns.NsHandle, spec *initSpec, log *logFile) (*process, error) {
	specR, specW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer specR.Close()
	defer specW.Close()
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer statusR.Close()
	defer statusW.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer outW.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		return nil, err
	}
	defer errW.Close()
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, err
	}
	defer devNull.Close()
	attr := &syscall.ProcAttr{
		Env:   []string{},
		Files: []uintptr{devNull.Fd(), outW.Fd(), errW.Fd(), specR.Fd(), statusW.Fd()},
		Sys: &syscall.SysProcAttr{
			Setsid:     true,
			Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC,
		},
	}
	var proc *process
	err = inNetns(ns, func() error {
		pid, exited, err := r.children.start("/proc/self/exe", []string{"glrf-container-init", ContainerInitCommand}, attr)
		if err != nil {
			return err
		}
		proc = newProcess(pid, exited)
		return nil
	})
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("start the container init: %w", err)
	}
	log.acquire()
	log.acquire()
	go log.copyFrom(outR, "stdout")
	go log.copyFrom(errR, "stderr")
	specR.Close()
	statusW.Close()
	if err := json.NewEncoder(specW).Encode(spec); err != nil {
		proc.signal(syscall.SIGKILL)
		return nil, err
	}
	specW.Close()
	msg, _ := io.ReadAll(statusR)
	if len(msg) > 0 {
		proc.signal(syscall.SIGKILL)
		<-proc.done
		return nil, errors.New(string(msg))
	}
	return proc, nil
}

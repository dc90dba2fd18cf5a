package podrunner

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
)

// Job pods (the runner's executor's pods) are played by kwok, and exec into
// their build and helper containers runs a local process in kwok's one
// sandbox. Without more, every job pod would share that sandbox's files:
// two jobs of one project would write the same /builds/<group>/<project>
// and remove each other's files. So the kubelet endpoint wraps each such
// exec in JobExecCommand, which gives the command what a node gives a
// container: the pod's emptyDir volumes at their mount paths, shared by the
// pod's containers and by no other pod, and a /tmp (and /var/tmp, /builds
// and /cache where no volume is mounted) of the container's own, and a network
// namespace that reaches only what jobs may reach, then drops to the job
// user (no other group, no new privileges) and runs the command.

// JobExecCommand is the subcommand of the cluster binary that kwok's exec
// runs, as root in kwok's sandbox, for a job pod's container.
const JobExecCommand = "job-exec"

// JobExecConfig turns the wrapping on.
type JobExecConfig struct {
	// Containers are the job containers whose exec is wrapped (the others
	// go to kwok as they are).
	Containers []string
	// Binary is the cluster binary's path inside kwok's sandbox.
	Binary string
	// UID and GID are who the command runs as (never root).
	UID, GID int
}

// Enabled reports whether exec into job containers is wrapped.
func (j JobExecConfig) Enabled() bool { return len(j.Containers) > 0 }

// jobPodsDir holds every job pod's folders inside kwok's sandbox, readable
// by root only: a job reaches its own pod's folders through their mounts,
// never another pod's.
const jobPodsDir = "/var/lib/glrf-job-pods"

// containerOwnPaths are paths that, where no volume is mounted, are the
// container's own (its writable layer, on a node): world-writable, sticky.
var containerOwnPaths = []string{"/tmp", "/var/tmp", "/builds", "/cache"}

// jobExecArgs is the job-exec command line for cmd in container of pod.
func (j JobExecConfig) jobExecArgs(pod *corev1.Pod, container string, cmd []string) ([]string, error) {
	var spec *corev1.Container
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == container {
			spec = &pod.Spec.Containers[i]
		}
	}
	if spec == nil {
		return nil, fmt.Errorf("container %q not found in pod %s/%s", container, pod.Namespace, pod.Name)
	}
	emptyDirs := map[string]bool{}
	for _, v := range pod.Spec.Volumes {
		if v.EmptyDir != nil {
			emptyDirs[v.Name] = true
		}
	}
	args := []string{
		j.Binary, JobExecCommand,
		"--pod=" + pod.Namespace + "_" + pod.Name + "_" + string(pod.UID),
		"--container=" + container,
		"--uid=" + strconv.Itoa(j.UID),
		"--gid=" + strconv.Itoa(j.GID),
	}
	mounted := map[string]bool{}
	for _, m := range spec.VolumeMounts {
		if !emptyDirs[m.Name] {
			continue // configMap, secret, projected: not written by jobs here
		}
		mode := "rw"
		if m.ReadOnly {
			mode = "ro"
		}
		args = append(args, "--volume="+strings.Join([]string{m.Name, m.SubPath, m.MountPath, mode}, ":"))
		mounted[filepath.Clean(m.MountPath)] = true
	}
	for _, p := range containerOwnPaths {
		if !mounted[p] {
			args = append(args, "--own="+p)
		}
	}
	return append(append(args, "--"), cmd...), nil
}

// jobExec is a parsed job-exec command line.
type jobExec struct {
	pod, container string
	uid, gid       int
	volumes        []jobVolume
	own            []string
	argv           []string
}

// jobVolume is an emptyDir volume mount: the volume's folder (or its
// subPath) at path.
type jobVolume struct {
	name, subPath, path string
	readOnly            bool
}

// parseJobExec reads what jobExecArgs renders (after the subcommand).
func parseJobExec(args []string) (jobExec, error) {
	var j jobExec
	fs := flag.NewFlagSet(JobExecCommand, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&j.pod, "pod", "", "")
	fs.StringVar(&j.container, "container", "", "")
	fs.IntVar(&j.uid, "uid", -1, "")
	fs.IntVar(&j.gid, "gid", -1, "")
	var volumes, own listFlag
	fs.Var(&volumes, "volume", "")
	fs.Var(&own, "own", "")
	if err := fs.Parse(args); err != nil {
		return j, err
	}
	var errs []error
	for name, v := range map[string]string{"pod": j.pod, "container": j.container} {
		if !safeName(v) {
			errs = append(errs, fmt.Errorf("--%s %q is not a plain name", name, v))
		}
	}
	if j.uid <= 0 || j.gid <= 0 {
		errs = append(errs, errors.New("--uid and --gid must be given, and not root"))
	}
	for _, v := range volumes {
		parts := strings.Split(v, ":")
		if len(parts) != 4 || !safeName(parts[0]) || !filepath.IsAbs(parts[2]) || (parts[3] != "rw" && parts[3] != "ro") ||
			(parts[1] != "" && (filepath.IsAbs(parts[1]) || slices.Contains(strings.Split(parts[1], "/"), ".."))) {
			errs = append(errs, fmt.Errorf("--volume %q: want NAME:SUBPATH:ABSOLUTE-PATH:rw|ro, a relative subPath without a .. element", v))
			continue
		}
		j.volumes = append(j.volumes, jobVolume{name: parts[0], subPath: parts[1], path: filepath.Clean(parts[2]), readOnly: parts[3] == "ro"})
	}
	for _, p := range own {
		if !filepath.IsAbs(p) {
			errs = append(errs, fmt.Errorf("--own %q is not an absolute path", p))
		}
		j.own = append(j.own, filepath.Clean(p))
	}
	j.argv = fs.Args()
	if len(j.argv) == 0 {
		errs = append(errs, errors.New("no command after --"))
	}
	return j, errors.Join(errs...)
}

// safeName is a name usable as one path element.
func safeName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\x00")
}

// RunJobExec runs a job container's command with its pod's folders
// mounted, as the job user. It returns only on failure (otherwise the
// command replaces this process), with the shell's code for a command that
// cannot run.
func RunJobExec(args []string, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintln(stderr, "job-exec:", err)
		return 127
	}
	j, err := parseJobExec(args)
	if err != nil {
		return fail(err)
	}
	// The mount namespace and the exec below belong to this thread.
	runtime.LockOSThread()
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fail(fmt.Errorf("a mount namespace of its own: %w", err))
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fail(fmt.Errorf("make mounts private: %w", err))
	}
	// The network namespace first: no mount below can hide its file.
	if err := enterNetns(JobNetnsPath); err != nil {
		return fail(err)
	}
	if err := j.mount(); err != nil {
		return fail(err)
	}
	exe, err := exec.LookPath(j.argv[0])
	if err != nil {
		return fail(err)
	}
	if err := syscall.Setgroups(nil); err != nil {
		return fail(err)
	}
	if err := syscall.Setgid(j.gid); err != nil {
		return fail(err)
	}
	if err := syscall.Setuid(j.uid); err != nil {
		return fail(err)
	}
	// No setuid program of the sandbox's root (the host's, under the
	// overlay) may make the job root again.
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fail(err)
	}
	return fail(syscall.Exec(exe, j.argv, os.Environ()))
}

// mount binds the pod's volume folders and the container's own folders at
// their paths, creating them on first use (an emptyDir is 0777, as the
// kubelet makes it). Every source is opened before anything is mounted, and
// a subPath is created and opened inside its volume without following a
// link out of it (the job writes the volume's content), so no mount path
// and no file of the job's can redirect a source.
func (j jobExec) mount() error {
	podDir := filepath.Join(jobPodsDir, j.pod)
	if err := os.MkdirAll(jobPodsDir, 0o700); err != nil {
		return err
	}
	// The job's own umask must not narrow the folders' modes.
	defer syscall.Umask(syscall.Umask(0))
	type bind struct {
		source *os.File // an O_PATH handle
		target string
		ro     bool
	}
	var binds []bind
	defer func() {
		for _, b := range binds {
			b.source.Close()
		}
	}()
	open := func(dir string, mode os.FileMode, subPath string) (*os.File, error) {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return nil, err
		}
		if err := os.Mkdir(dir, mode); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		root, err := os.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil || subPath == "" {
			return root, err
		}
		defer root.Close()
		return pathrs.MkdirAllHandle(root, subPath, 0o777)
	}
	for _, v := range j.volumes {
		h, err := open(filepath.Join(podDir, "volumes", v.name), 0o777, v.subPath)
		if err != nil {
			return fmt.Errorf("volume %s: %w", v.name, err)
		}
		binds = append(binds, bind{h, v.path, v.readOnly})
	}
	for _, p := range j.own {
		h, err := open(filepath.Join(podDir, "containers", j.container, strings.ReplaceAll(strings.Trim(p, "/"), "/", "_")), 0o777|os.ModeSticky, "")
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		binds = append(binds, bind{h, p, false})
	}
	for _, b := range binds {
		if err := os.MkdirAll(b.target, 0o755); err != nil {
			return err
		}
		source := fmt.Sprintf("/proc/self/fd/%d", b.source.Fd())
		if err := unix.Mount(source, b.target, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("mount %s at %s: %w", b.source.Name(), b.target, err)
		}
		if b.ro {
			if err := unix.Mount("", b.target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
				return fmt.Errorf("make %s read-only: %w", b.target, err)
			}
		}
	}
	return nil
}

// enterNetns moves this thread into the network namespace pinned at path.
func enterNetns(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("the jobs' network namespace (made by kwok's sandbox): %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("enter the jobs' network namespace: %w", err)
	}
	return nil
}

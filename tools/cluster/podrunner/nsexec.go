package podrunner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// process is a running process the runner started.
type process struct {
	pid  int
	done chan struct{} // closed once it has exited
	ws   syscall.WaitStatus
}

func newProcess(pid int, exited <-chan syscall.WaitStatus) *process {
	p := &process{pid: pid, done: make(chan struct{})}
	go func() {
		p.ws = <-exited
		close(p.done)
	}()
	return p
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *process) signal(sig syscall.Signal) {
	if !p.exited() {
		_ = syscall.Kill(p.pid, sig)
	}
}

// identity is who a container's processes run as, and with what.
type identity struct {
	UID        uint32
	GID        uint32
	Groups     []uint32
	Env        []string
	WorkingDir string
	NoNewPrivs bool
}

// execRequest is a command to run inside a running container.
type execRequest struct {
	// pid is the container's PID 1 (in the runner's PID namespace).
	pid    int
	id     identity
	argv   []string
	stdin  io.Reader // nil: /dev/null
	stdout io.Writer // nil: discarded
	stderr io.Writer
}

// namespacesOfContainer are the namespaces an exec joins, the mount
// namespace last (after it, /proc is the container's).
var namespacesOfContainer = []string{"ipc", "uts", "net", "pid", "mnt"}

// execIn runs a command inside a container's namespaces, as its user, with
// its environment and working folder, as a child of the container's PID 1
// namespace, and returns its exit code once it and its output have ended.
// ctx ending kills it.
func (r *Runner) execIn(ctx context.Context, req execRequest) (int32, error) {
	if len(req.argv) == 0 {
		return -1, errors.New("no command")
	}
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return -1, err
	}
	defer stdinR.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		stdinW.Close()
		return -1, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		stdinW.Close()
		outR.Close()
		outW.Close()
		return -1, err
	}
	var proc *process
	startErr := onThread(func() (bool, error) {
		// This thread enters the container's namespaces for good: it ends
		// with the goroutine.
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			return false, fmt.Errorf("unshare fs: %w", err)
		}
		var fds []int
		defer func() {
			for _, fd := range fds {
				unix.Close(fd)
			}
		}()
		for _, ns := range namespacesOfContainer {
			fd, err := unix.Open("/proc/"+strconv.Itoa(req.pid)+"/ns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return false, fmt.Errorf("the container is not running (%s namespace: %w)", ns, err)
			}
			fds = append(fds, fd)
		}
		for i, fd := range fds {
			if err := unix.Setns(fd, 0); err != nil {
				return false, fmt.Errorf("enter the container's %s namespace: %w", namespacesOfContainer[i], err)
			}
		}
		if req.id.NoNewPrivs {
			if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
				return false, err
			}
		}
		exe, err := lookPath(req.argv[0], envValue(req.id.Env, "PATH"))
		if err != nil {
			return false, err
		}
		dir := req.id.WorkingDir
		if dir == "" {
			dir = "/"
		}
		attr := &syscall.ProcAttr{
			Dir:   dir,
			Env:   req.id.Env,
			Files: []uintptr{stdinR.Fd(), outW.Fd(), errW.Fd()},
			Sys: &syscall.SysProcAttr{
				Setsid:     true,
				Credential: &syscall.Credential{Uid: req.id.UID, Gid: req.id.GID, Groups: req.id.Groups},
			},
		}
		pid, exited, err := r.children.start(exe, req.argv, attr)
		if err != nil {
			return false, fmt.Errorf("start %s: %w", exe, err)
		}
		proc = newProcess(pid, exited)
		return false, nil
	})
	outW.Close()
	errW.Close()
	if startErr != nil {
		stdinW.Close()
		outR.Close()
		errR.Close()
		return -1, startErr
	}
	go func() {
		if req.stdin != nil {
			_, _ = io.Copy(stdinW, req.stdin)
		}
		stdinW.Close()
	}()
	var copies sync.WaitGroup
	drain := func(dst io.Writer, src *os.File) {
		defer copies.Done()
		if dst == nil {
			dst = io.Discard
		}
		_, _ = io.Copy(dst, src)
	}
	copies.Add(2)
	go drain(req.stdout, outR)
	go drain(req.stderr, errR)
	select {
	case <-proc.done:
	case <-ctx.Done():
		proc.signal(syscall.SIGKILL)
		<-proc.done
	}
	// The output ends when every holder of the pipes is gone; a child the
	// command left behind may keep them open: do not wait for it long.
	copied := make(chan struct{})
	go func() { copies.Wait(); close(copied) }()
	select {
	case <-copied:
	case <-time.After(outputDrainGrace):
	}
	outR.Close()
	errR.Close()
	if ctx.Err() != nil {
		return exitCode(proc.ws), ctx.Err()
	}
	return exitCode(proc.ws), nil
}

// outputDrainGrace is how long an exec's output may go on after its
// process has exited (held open by a process it left behind).
const outputDrainGrace = 2 * time.Second

// envValue is name's value in env (NAME=value lines; the last one wins).
func envValue(env []string, name string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], name+"="); ok {
			return v
		}
	}
	return ""
}

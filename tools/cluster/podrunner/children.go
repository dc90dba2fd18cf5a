package podrunner

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// children starts every process of the runner and reaps them all.
//
// The runner is PID 1 of its PID namespace: processes orphaned inside it
// (a preStop hook's background job, say) become its children, and only it
// can reap them. One loop therefore waits for any child and hands each exit
// status to whoever started that process; statuses of processes nobody
// started are dropped. So nothing in the runner may use os/exec, whose Wait
// would race with this loop.
type children struct {
	mu      sync.Mutex
	waiters map[int]chan syscall.WaitStatus
}

func newChildren() *children {
	return &children{waiters: map[int]chan syscall.WaitStatus{}}
}

// start forks and execs argv0, and returns the child's pid and a channel
// that receives its exit status. The fork happens under the lock the reaper
// takes, so the child is registered before it can be reaped. It runs on the
// calling goroutine's thread, so namespaces that thread has entered apply
// to the child.
func (c *children) start(argv0 string, argv []string, attr *syscall.ProcAttr) (int, <-chan syscall.WaitStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pid, err := syscall.ForkExec(argv0, argv, attr)
	if err != nil {
		return 0, nil, err
	}
	ch := make(chan syscall.WaitStatus, 1)
	c.waiters[pid] = ch
	return pid, ch, nil
}

// reapLoop reaps children as they exit, until ctx ends.
func (c *children) reapLoop(ctx context.Context) {
	sig := make(chan os.Signal, 32)
	signal.Notify(sig, syscall.SIGCHLD)
	defer signal.Stop(sig)
	// SIGCHLD may coalesce or arrive before Notify: a slow tick too.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		c.reap()
		select {
		case <-ctx.Done():
			return
		case <-sig:
		case <-tick.C:
		}
	}
}

// reap collects every child that has exited.
func (c *children) reap() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		if ch, ok := c.waiters[pid]; ok {
			ch <- ws
			delete(c.waiters, pid)
		}
	}
}

// exitCode is the exit code a kubelet reports for a wait status: the code,
// or 128 + the signal that killed the process.
func exitCode(ws syscall.WaitStatus) int32 {
	if ws.Signaled() {
		return 128 + int32(ws.Signal())
	}
	return int32(ws.ExitStatus())
}

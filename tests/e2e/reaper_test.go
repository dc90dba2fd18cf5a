//go:build e2e

package e2e

// The suite's reaper: a process of its own that stops what the suite
// started when the test binary ends without doing it itself (killed by
// `go test -timeout`, which panics the binary and, a minute later, kills it;
// SIGKILL; a crash in TestMain). Deferred functions do not run then, and the
// control plane, kwok, the pod runner with its pods and the GitLab stand-in
// run detached (process groups of their own), so without a reaper they
// outlive the binary for good.
//
// The reaper is this same test binary started again with GLRF_E2E_REAPER
// set, in a process group of its own (a Ctrl-C in the terminal reaches the
// suite, not it). It reads its standard input, a pipe whose other end only
// the test binary holds, until end of file, which comes when the binary has
// exited in whatever way. Then it:
//
//  1. stops every cluster the suite registered (`cluster stop --purge`: the
//     components by SIGTERM, then SIGKILL; the pod runner's and kwok's
//     sandbox's processes die with them, as PID 1 of their namespaces);
//  2. kills every process left that carries the suite's run marker in its
//     environment (GLRF_E2E_RUN, a random id TestMain sets before it starts
//     anything, so every process the suite starts inherits it: the GitLab
//     stand-in, the pulumi CLI and its plugins, kubectl, the components);
//  3. removes the folders the suite registered.
//
// When the suite ends normally it has done 1 and 3 itself and writes "done"
// first: the reaper then only looks for marked processes, and finds none.

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	// reaperEnv set makes the test binary run as the reaper (TestMain).
	reaperEnv = "GLRF_E2E_REAPER"
	// runMarkerEnv holds a random id in the environment of the suite and
	// of everything it starts.
	runMarkerEnv = "GLRF_E2E_RUN"
	// reaperParentEnv is the pid of the test binary the reaper serves: its
	// own marker does not make it a leftover.
	reaperParentEnv = "GLRF_E2E_REAPER_PARENT"
)

// reaper is the test binary's handle on its reaper.
type reaper struct {
	mu     sync.Mutex
	stdin  io.WriteCloser
	cmd    *exec.Cmd
	marker string
	closed bool
}

// startReaper marks this process's environment with a new run id and starts
// the reaper. Everything started afterwards inherits the marker.
func startReaper() (*reaper, error) {
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	marker := hex.EncodeToString(id)
	if err := os.Setenv(runMarkerEnv, marker); err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), reaperEnv+"=1", reaperParentEnv+"="+strconv.Itoa(os.Getpid()))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the suite's reaper: %w", err)
	}
	return &reaper{stdin: stdin, cmd: cmd, marker: marker}, nil
}

func (r *reaper) send(fields ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	// A failed write means the reaper is gone; the suite goes on without.
	_, _ = fmt.Fprintln(r.stdin, strings.Join(fields, "\t"))
}

// cluster registers a cluster the reaper stops with the cluster binary.
func (r *reaper) cluster(bin, dir string) { r.send("cluster", bin, dir) }

// remove registers a folder the reaper removes.
func (r *reaper) remove(path string) { r.send("remove", path) }

// done tells the reaper the suite stopped what it started, and waits for it
// to end.
func (r *reaper) done() {
	r.send("done")
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		_ = r.stdin.Close()
	}
	r.mu.Unlock()
	_ = r.cmd.Wait()
}

// runReaper is the reaper's main: it waits for its standard input to end.
func runReaper() int {
	// Signals for the terminal's process group, and a closed output pipe,
	// must not stop it before it has done its work.
	signal.Ignore(os.Interrupt, syscall.SIGHUP, syscall.SIGPIPE)
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "e2e reaper: "+format+"\n", args...) }
	var clusters [][2]string
	var remove []string
	done := false
	scanner := bufio.NewScanner(os.Stdin)
	for scanner.Scan() {
		fields := strings.Split(scanner.Text(), "\t")
		switch {
		case fields[0] == "cluster" && len(fields) == 3:
			clusters = append(clusters, [2]string{fields[1], fields[2]})
		case fields[0] == "remove" && len(fields) == 2:
			remove = append(remove, fields[1])
		case fields[0] == "done":
			done = true
		}
	}
	if !done {
		logf("the test binary ended without stopping what it started; stopping it now")
		for i := len(clusters) - 1; i >= 0; i-- {
			bin, dir := clusters[i][0], clusters[i][1]
			out, err := exec.Command(bin, "stop", "--purge", "--dir", dir).CombinedOutput()
			logf("cluster in %s: %s%v", dir, out, errOrNothing(err))
		}
	}
	parent, _ := strconv.Atoi(os.Getenv(reaperParentEnv))
	if left := killMarked(os.Getenv(runMarkerEnv), parent); len(left) > 0 {
		logf("killed %d leftover processes of the suite: %s", len(left), strings.Join(left, "; "))
	}
	if !done {
		for _, path := range remove {
			if err := os.RemoveAll(path); err != nil {
				logf("removing %s: %v", path, err)
			}
		}
	}
	return 0
}

func errOrNothing(err error) string {
	if err == nil {
		return ""
	}
	return "(" + err.Error() + ")"
}

// markedProcesses lists the live processes whose environment holds
// GLRF_E2E_RUN=marker, but for the reaper itself and the given pid.
func markedProcesses(marker string, except int) map[int]string {
	found := map[int]string{}
	if marker == "" {
		return found
	}
	want := []byte(runMarkerEnv + "=" + marker + "\x00")
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() || pid == except {
			continue
		}
		environ, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(append([]byte{0}, environ...), append([]byte{0}, want...)) {
			continue
		}
		if isZombie(pid) {
			continue
		}
		found[pid] = commandLine(pid)
	}
	return found
}

// killMarked SIGKILLs the marked processes until none is left (or a
// minute has passed), and describes those it found.
func killMarked(marker string, except int) []string {
	var seen []string
	described := map[int]bool{}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		procs := markedProcesses(marker, except)
		if len(procs) == 0 {
			break
		}
		for pid, cmdline := range procs {
			if !described[pid] {
				described[pid] = true
				seen = append(seen, fmt.Sprintf("%d %s", pid, cmdline))
			}
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return seen
}

// commandLine is a process's command line, shortened for a log line.
func commandLine(pid int) string {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	s := strings.TrimSpace(strings.ReplaceAll(string(data), "\x00", " "))
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// isZombie reports whether pid has exited and waits for its parent.
func isZombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) == 0 || fields[0] == "Z"
}

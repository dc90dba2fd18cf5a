package cluster

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/glrf/gitlab-runner-fleet/tools/cluster/podrunner"
)

// process is one control-plane binary run in the background: its output
// goes to logs/<name>.log and its pid to pids/<name>.pid under the state
// folder.
type process struct {
	name    string
	dir     string   // state folder (absolute)
	argv    []string // binary and arguments
	env     []string // added to the environment of the caller
	workDir string
	// cloneflags are namespaces the process gets of its own.
	cloneflags uintptr
}

func logPath(dir, name string) string { return filepath.Join(dir, "logs", name+".log") }
func pidPath(dir, name string) string { return filepath.Join(dir, "pids", name+".pid") }

// start launches the process in its own process group, so that it neither
// gets the terminal's signals (Ctrl-C in the shell that ran `start`) nor
// dies with the command that started it, and returns its pid.
func (p process) start() (int, error) {
	for _, d := range []string{"logs", "pids"} {
		if err := os.MkdirAll(filepath.Join(p.dir, d), 0o755); err != nil {
			return 0, err
		}
	}
	logFile, err := os.OpenFile(logPath(p.dir, p.name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(logFile, "\n==== %s starting %s\n", time.Now().Format(time.RFC3339), strings.Join(p.argv, " "))
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Dir = p.workDir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Cloneflags: p.cloneflags}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return 0, fmt.Errorf("start %s: %w", p.name, err)
	}
	pid := cmd.Process.Pid
	// Reap the child if it exits while this process still runs (a crash
	// during `start`, or `stop` from the same process as in the tests), so
	// that it does not linger as a zombie that still answers kill(pid, 0).
	go func() {
		_ = cmd.Wait()
		logFile.Close()
	}()
	if err := writeFile(pidPath(p.dir, p.name), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		return 0, err
	}
	return pid, nil
}

// readPid returns the pid recorded for name, or 0 when there is none.
func readPid(dir, name string) int {
	data, err := os.ReadFile(pidPath(dir, name))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// cmdline returns the arguments of a live process (nil for a zombie or a
// process that is gone).
func cmdline(pid int) []string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(data) == 0 {
		return nil
	}
	return strings.Split(strings.TrimRight(string(data), "\x00"), "\x00")
}

// ownedBy reports whether args is one of this cluster's processes: a
// component binary (or the cluster binary running the pod runner or kwok's
// sandbox) whose arguments name the state folder. Checking both guards
// against pid reuse and never matches, say, an editor or `tail -f` that has
// a log of the folder open.
func ownedBy(args []string, dir string) bool {
	if len(args) == 0 {
		return false
	}
	component := slices.Contains(ComponentNames(), filepath.Base(args[0]))
	wrapper := len(args) > 1 && (args[1] == podrunner.RunCommand || args[1] == podrunner.SandboxCommand)
	if !component && !wrapper {
		return false
	}
	for _, a := range args[1:] {
		if strings.Contains(a, dir+string(filepath.Separator)) || strings.HasSuffix(a, dir) {
			return true
		}
	}
	return false
}

// alive reports whether pid is a live (not zombie) process of this cluster.
func alive(pid int, dir string) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	return ownedBy(cmdline(pid), dir)
}

// running reports whether pid is a live process other than a zombie. Unlike
// alive it does not read the command line, which is empty for a moment while
// a process just started is still inside exec; it is meant for processes
// this command has just started itself.
func running(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

// strayProcesses lists live processes of this cluster found by scanning
// /proc, whatever the pid files say.
func strayProcesses(dir string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if ownedBy(cmdline(pid), dir) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// terminate sends SIGTERM to pid's process group (each component leads its
// own), waits up to grace for it to exit, then SIGKILLs it. It returns an
// error only when the process is still there after SIGKILL.
func terminate(pid int, dir string, grace time.Duration) error {
	if !alive(pid, dir) {
		return nil
	}
	signal := func(sig syscall.Signal) {
		// The group first (reaches helpers the component may have forked);
		// the pid too, in case it is not a group leader (found by scanning).
		_ = syscall.Kill(-pid, sig)
		_ = syscall.Kill(pid, sig)
	}
	signal(syscall.SIGTERM)
	if waitGone(pid, dir, grace) {
		return nil
	}
	signal(syscall.SIGKILL)
	// A killed process is gone at once on an idle machine; give a busy one
	// time to tear down a large address space.
	if waitGone(pid, dir, 30*time.Second) {
		return nil
	}
	return fmt.Errorf("process %d (%s) still there 30s after SIGKILL", pid, strings.Join(cmdline(pid), " "))
}

func waitGone(pid int, dir string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if !alive(pid, dir) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tail returns the last n lines of path.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

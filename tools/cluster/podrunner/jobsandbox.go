package podrunner

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// SandboxCommand is the subcommand of the cluster binary that runs kwok in
// a sandbox, so that what kwok's exec runs for job pods (the runner's job
// scripts: /builds, /scripts-*, git clones, caches) never writes to the
// host: kwok runs as the child of this process, PID 1 of a PID namespace
// of its own, in a mount namespace whose root is the host's root under a
// tmpfs-backed overlay, with a fresh /tmp, and the host paths kwok needs
// mounted read-only. Everything written vanishes when kwok stops; every
// process it started dies with this one. kwok also gets
// a network namespace of its own: it reaches the host addresses forwarded
// into it (the API server), and its own port is exposed on the host. Job
// processes get another one (JobNetnsPath), where they reach the addresses
// forwarded for jobs (the local GitLab) and nothing else: not etcd, not the
// API server, not kwok's server (which would exec anything as root), not
// the nodes' kubelet endpoint.
const SandboxCommand = "sandbox"

// JobNetnsPath is the job processes' network namespace, pinned inside
// kwok's sandbox, where job-exec enters it.
const JobNetnsPath = "/run/glrf-job-netns"

// SandboxConfig is the sandbox's command line.
type SandboxConfig struct {
	// Scratch is the folder the sandbox's tmpfs is mounted on.
	Scratch string
	// Binds are host paths mounted read-only at the same path (the state
	// folder, kwok's binary and stages), or SOURCE:TARGET.
	Binds []string
	// Env is the environment kwok gets (nothing else of the caller's).
	Env []string
	// Forwards are host addresses (IP:port) served at the same address in
	// kwok's network namespace.
	Forwards []string
	// JobForwards are host addresses served at the same address in the job
	// processes' network namespace.
	JobForwards []string
	// Expose are addresses of kwok's network namespace served at the same
	// address on the host (its server).
	Expose []string
	// Argv is kwok's command line.
	Argv []string
}

// Args renders the sandbox's command line (after the subcommand).
func (s SandboxConfig) Args() []string {
	args := []string{"--scratch=" + s.Scratch}
	for _, b := range s.Binds {
		args = append(args, "--bind="+b)
	}
	for _, e := range s.Env {
		args = append(args, "--env="+e)
	}
	for _, f := range s.Forwards {
		args = append(args, "--forward="+f)
	}
	for _, f := range s.JobForwards {
		args = append(args, "--job-forward="+f)
	}
	for _, e := range s.Expose {
		args = append(args, "--expose="+e)
	}
	return append(append(args, "--"), s.Argv...)
}

// ParseSandboxArgs reads what Args renders.
func ParseSandboxArgs(args []string) (SandboxConfig, error) {
	var s SandboxConfig
	fs := flag.NewFlagSet(SandboxCommand, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&s.Scratch, "scratch", "", "")
	var binds, env, forwards, jobForwards, expose listFlag
	fs.Var(&jobForwards, "job-forward", "")
	fs.Var(&binds, "bind", "")
	fs.Var(&env, "env", "")
	fs.Var(&forwards, "forward", "")
	fs.Var(&expose, "expose", "")
	if err := fs.Parse(args); err != nil {
		return s, err
	}
	s.Binds, s.Env, s.Forwards, s.JobForwards, s.Expose, s.Argv = binds, env, forwards, jobForwards, expose, fs.Args()
	if s.Scratch == "" || len(s.Argv) == 0 {
		return s, errors.New("sandbox: want --scratch=FOLDER, then any --bind, --env, --forward, --job-forward and --expose, then -- and the command")
	}
	return s, nil
}

// RunSandbox runs the command in the sandbox and returns its exit code. It
// must be PID 1 of a new PID namespace with a mount namespace of its own.
func RunSandbox(cfg SandboxConfig, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintln(stderr, "sandbox:", err)
		return 1
	}
	if os.Getpid() != 1 {
		return fail(errors.New("must be PID 1 of a PID namespace of its own: `cluster start` starts it so"))
	}
	// What jobs write goes to their pods' folders (see JobExecCommand).
	spec := rootSpec{Scratch: cfg.Scratch, Tmpfs: []string{"/tmp"}}
	for _, b := range cfg.Binds {
		source, target, ok := strings.Cut(b, ":")
		if !ok {
			target = source
		}
		spec.Binds = append(spec.Binds, bindMount{Source: source, Target: target, ReadOnly: true})
	}
	root, err := buildRoot(spec)
	if err != nil {
		return fail(err)
	}
	if err := pivotRoot(root, false); err != nil {
		return fail(err)
	}
	ns, err := newNetns()
	if err != nil {
		return fail(err)
	}
	fwd := newForwarder(slog.New(slog.NewTextHandler(stderr, nil)).With("component", "kwok-sandbox"))
	defer fwd.Close()
	for _, f := range cfg.Forwards {
		if err := fwd.add(ns, f, f); err != nil {
			return fail(fmt.Errorf("serve %s in kwok's network namespace: %w", f, err))
		}
	}
	for _, e := range cfg.Expose {
		if err := fwd.expose(ns, e); err != nil {
			return fail(fmt.Errorf("expose %s on the host: %w", e, err))
		}
	}
	jobs, err := newNetns()
	if err != nil {
		return fail(err)
	}
	for _, f := range cfg.JobForwards {
		if err := fwd.add(jobs, f, f); err != nil {
			return fail(fmt.Errorf("serve %s in the jobs' network namespace: %w", f, err))
		}
	}
	if err := pinNetns(jobs, JobNetnsPath); err != nil {
		return fail(err)
	}
	kids := newChildren()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go kids.reapLoop(ctx)
	exe, err := lookPath(cfg.Argv[0], envValue(cfg.Env, "PATH"))
	if err != nil {
		return fail(err)
	}
	var pid int
	var exited <-chan syscall.WaitStatus
	err = inNetns(ns, func() error {
		var err error
		pid, exited, err = kids.start(exe, cfg.Argv, &syscall.ProcAttr{
			Dir:   "/",
			Env:   cfg.Env,
			Files: []uintptr{os.Stdin.Fd(), os.Stdout.Fd(), os.Stderr.Fd()},
		})
		return err
	})
	if err != nil {
		return fail(err)
	}
	// The init of a PID namespace gets only the signals it handles: pass
	// the stopping ones on.
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	for {
		select {
		case s := <-sig:
			_ = syscall.Kill(pid, s.(syscall.Signal))
		case ws := <-exited:
			return int(exitCode(ws))
		}
	}
}

// pinNetns keeps ns reachable at path (a file, readable by root only) for
// processes that enter it later.
func pinNetns(ns netns.NsHandle, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		return err
	}
	if err := unix.Mount(fmt.Sprintf("/proc/self/fd/%d", int(ns)), path, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("pin the jobs' network namespace at %s: %w", path, err)
	}
	return nil
}

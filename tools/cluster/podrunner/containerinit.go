package podrunner

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// ContainerInitCommand is the subcommand of the cluster binary that
// becomes a container: the runner starts it (/proc/self/exe) in the
// container's new namespaces, it builds the container's root and execs the
// container's command, which thus becomes PID 1.
const ContainerInitCommand = "container-init"

// initSpec is what the container init receives on fd 3.
type initSpec struct {
	Root       rootSpec `json:"root"`
	Hostname   string   `json:"hostname"`
	Argv       []string `json:"argv"`
	Env        []string `json:"env"`
	WorkingDir string   `json:"workingDir"`
	UID        uint32   `json:"uid"`
	GID        uint32   `json:"gid"`
	Groups     []uint32 `json:"groups"`
	NoNewPrivs bool     `json:"noNewPrivs"`
}

// File descriptors of the container init, besides stdin/stdout/stderr.
const (
	initSpecFD   = 3 // the spec, JSON, read to EOF
	initStatusFD = 4 // closed on exec; a message on failure
)

// RunContainerInit is the container init's whole life: it never returns.
// Any failure before the exec is written to the status descriptor, where
// the runner reports it as the container's start error.
func RunContainerInit() {
	status := os.NewFile(initStatusFD, "status")
	syscall.CloseOnExec(initStatusFD)
	fail := func(err error) {
		fmt.Fprint(status, err.Error())
		os.Exit(1)
	}
	var spec initSpec
	if err := json.NewDecoder(os.NewFile(initSpecFD, "spec")).Decode(&spec); err != nil {
		fail(fmt.Errorf("read the container spec: %w", err))
	}
	if len(spec.Argv) == 0 {
		fail(errors.New("no command"))
	}
	root, err := buildRoot(spec.Root)
	if err != nil {
		fail(err)
	}
	if err := pivotRoot(root, spec.Root.ReadOnly); err != nil {
		fail(err)
	}
	if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
		fail(fmt.Errorf("set the hostname: %w", err))
	}
	if spec.WorkingDir != "" {
		// As a runtime does, create a working folder the image lacks.
		_ = os.MkdirAll(spec.WorkingDir, 0o755)
		if err := os.Chdir(spec.WorkingDir); err != nil {
			fail(fmt.Errorf("working directory: %w", err))
		}
	}
	exe, err := lookPath(spec.Argv[0], envValue(spec.Env, "PATH"))
	if err != nil {
		fail(err)
	}
	groups := make([]int, len(spec.Groups))
	for i, g := range spec.Groups {
		groups[i] = int(g)
	}
	if err := syscall.Setgroups(groups); err != nil {
		fail(fmt.Errorf("setgroups: %w", err))
	}
	if err := syscall.Setgid(int(spec.GID)); err != nil {
		fail(fmt.Errorf("setgid: %w", err))
	}
	if err := syscall.Setuid(int(spec.UID)); err != nil {
		fail(fmt.Errorf("setuid: %w", err))
	}
	if spec.NoNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			fail(fmt.Errorf("no_new_privs: %w", err))
		}
	}
	err = syscall.Exec(exe, spec.Argv, spec.Env)
	fail(fmt.Errorf("exec %s: %w", exe, err))
}

package podrunner

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// rootSpec is the filesystem a container (or kwok's sandbox) sees: the
// host's root under an overlay whose upper layer is a fresh tmpfs (writes
// stay private and vanish with the mount namespace), its own /proc, a
// minimal /dev, /sys read-only, and the given mounts on top.
type rootSpec struct {
	// Scratch is an existing folder the tmpfs (upper layer, work folder,
	// new root) is mounted on.
	Scratch string `json:"scratch"`
	// ScratchSize bounds the writable layer, in bytes (0: tmpfs' default).
	ScratchSize int64 `json:"scratchSize,omitempty"`
	// Tmpfs are empty, writable tmpfs mounts (e.g. /tmp).
	Tmpfs []string `json:"tmpfs,omitempty"`
	// Masks are host paths hidden behind an empty read-only tmpfs.
	Masks []string `json:"masks,omitempty"`
	// Dirs are folders created in the new root, with their mode.
	Dirs []dirSpec `json:"dirs,omitempty"`
	// Binds are host paths mounted into the new root.
	Binds []bindMount `json:"binds,omitempty"`
	// ReadOnly makes the root (not the mounts on it) read-only.
	ReadOnly bool `json:"readOnly,omitempty"`
}

type dirSpec struct {
	Path string      `json:"path"`
	Mode os.FileMode `json:"mode"`
}

type bindMount struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly,omitempty"`
}

// buildRoot assembles the new root in a private copy of the caller's mount
// namespace and returns its path; pivotRoot then moves into it. The caller
// must be alone in a fresh mount namespace (and, for /proc, in the PID
// namespace the root is for).
func buildRoot(spec rootSpec) (string, error) {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return "", fmt.Errorf("make mounts private: %w", err)
	}
	opts := "mode=0755"
	if spec.ScratchSize > 0 {
		opts += ",size=" + strconv.FormatInt(spec.ScratchSize, 10)
	}
	if err := unix.Mount("tmpfs", spec.Scratch, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return "", fmt.Errorf("mount the writable layer's tmpfs on %s: %w", spec.Scratch, err)
	}
	upper, work, root := filepath.Join(spec.Scratch, "upper"), filepath.Join(spec.Scratch, "work"), filepath.Join(spec.Scratch, "root")
	for _, d := range []string{upper, work, root} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return "", err
		}
	}
	if err := unix.Mount("overlay", root, "overlay", 0, "lowerdir=/,upperdir="+upper+",workdir="+work); err != nil {
		return "", fmt.Errorf("mount the root overlay: %w", err)
	}
	// Every path is resolved inside the new root: a link such as
	// /var/run -> /run must lead to the root's /run, never the host's.
	in := func(p string) (string, error) {
		resolved, err := securejoin.SecureJoin(root, p)
		if err != nil {
			return "", fmt.Errorf("resolve %s in the new root: %w", p, err)
		}
		return resolved, nil
	}
	proc, err := in("/proc")
	if err != nil {
		return "", err
	}
	if err := mkdirMount(proc, "proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return "", err
	}
	dev, err := in("/dev")
	if err != nil {
		return "", err
	}
	if err := setupDev(dev); err != nil {
		return "", err
	}
	sys, err := in("/sys")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(sys, 0o555); err != nil {
		return "", err
	}
	if err := unix.Mount("/sys", sys, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return "", fmt.Errorf("bind /sys: %w", err)
	}
	if err := readOnlyTree(sys); err != nil {
		return "", err
	}
	for _, t := range spec.Tmpfs {
		target, err := in(t)
		if err != nil {
			return "", err
		}
		if err := mkdirMount(target, "tmpfs", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777"); err != nil {
			return "", err
		}
	}
	for _, m := range spec.Masks {
		target, err := in(m)
		if err != nil {
			return "", err
		}
		st, err := os.Stat(target)
		if err != nil || !st.IsDir() {
			continue
		}
		if err := unix.Mount("tmpfs", target, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=000,size=4096"); err != nil {
			return "", fmt.Errorf("mask %s: %w", m, err)
		}
	}
	for _, d := range spec.Dirs {
		target, err := in(d.Path)
		if err != nil {
			return "", err
		}
		if err := os.MkdirAll(target, 0o755); err != nil {
			return "", err
		}
		if err := os.Chmod(target, d.Mode); err != nil {
			return "", err
		}
	}
	for _, b := range spec.Binds {
		target, err := in(b.Target)
		if err != nil {
			return "", err
		}
		if err := bind(b.Source, target, b.ReadOnly); err != nil {
			return "", fmt.Errorf("mount %s at %s: %w", b.Source, b.Target, err)
		}
	}
	return root, nil
}

// mkdirMount creates target and mounts on it.
func mkdirMount(target, source, fstype string, flags uintptr, data string) error {
	if err := os.MkdirAll(target, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(source, target, fstype, flags, data); err != nil {
		return fmt.Errorf("mount %s on %s: %w", fstype, target, err)
	}
	return nil
}

// bind mounts source (a folder or a file) at target, creating the mount
// point.
func bind(source, target string, readOnly bool) error {
	st, err := os.Stat(source)
	if err != nil {
		return err
	}
	if st.IsDir() {
		if err := os.MkdirAll(target, 0o755); err != nil {
			return err
		}
	} else {
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(target, os.O_CREATE|os.O_RDONLY, 0o644)
		if err != nil {
			return err
		}
		f.Close()
	}
	if err := unix.Mount(source, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	if readOnly {
		return readOnlyTree(target)
	}
	return nil
}

// readOnlyTree makes the mount at path and every mount below it read-only.
func readOnlyTree(path string) error {
	err := unix.MountSetattr(-1, path, unix.AT_RECURSIVE, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY})
	if err != nil {
		return fmt.Errorf("make %s read-only: %w", path, err)
	}
	return nil
}

// devices are the host's device nodes a container gets.
var devices = []string{"null", "zero", "full", "random", "urandom", "tty"}

// setupDev gives the root a /dev of its own: a few device nodes, its own
// pseudo-terminals and shared memory, the usual links.
func setupDev(dev string) error {
	if err := mkdirMount(dev, "tmpfs", "tmpfs", unix.MS_NOSUID|unix.MS_NOEXEC, "mode=0755,size=65536"); err != nil {
		return err
	}
	for _, d := range devices {
		target := filepath.Join(dev, d)
		f, err := os.OpenFile(target, os.O_CREATE|os.O_RDONLY, 0o666)
		if err != nil {
			return err
		}
		f.Close()
		if err := unix.Mount("/dev/"+d, target, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind /dev/%s: %w", d, err)
		}
	}
	if err := mkdirMount(filepath.Join(dev, "pts"), "devpts", "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"); err != nil {
		return err
	}
	if err := mkdirMount(filepath.Join(dev, "shm"), "shm", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777"); err != nil {
		return err
	}
	links := map[string]string{
		"ptmx": "pts/ptmx", "fd": "/proc/self/fd",
		"stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dev, name)); err != nil {
			return err
		}
	}
	return nil
}

// pivotRoot makes root the root of the mount namespace and drops the old
// one, so nothing outside root stays reachable.
func pivotRoot(root string, readOnly bool) error {
	if err := os.Chdir(root); err != nil {
		return err
	}
	// pivot_root(".", ".") stacks the old root on the new one; unmounting
	// "." then removes it (no folder for the old root needed).
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("drop the old root: %w", err)
	}
	if err := os.Chdir("/"); err != nil {
		return err
	}
	if readOnly {
		if err := unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("make the root read-only: %w", err)
		}
	}
	return nil
}

// lookPath finds file in the folders of path, as a shell would.
func lookPath(file, path string) (string, error) {
	if filepath.IsAbs(file) || filepath.Base(file) != file {
		return file, nil
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%q: executable file not found in $PATH (%s)", file, path)
}

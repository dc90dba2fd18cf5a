package podrunner

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// fileProjection is one file of a volume built from API data.
type fileProjection struct {
	Data []byte
	Mode os.FileMode
}

// ownership is who owns a volume's files: the pod's fsGroup (-1 when
// unset), which also gets read access, as the kubelet gives it.
type ownership struct {
	GID int
}

// dataDirName is the link to the current version of a volume's files.
const dataDirName = "..data"

// writeAtomic makes dir hold exactly payload, the kubelet's way, so that a
// reader never sees half an update: each version is written to a fresh
// hidden folder, the ..data link is switched to it in one rename, and the
// visible names are links through ..data. It reports whether anything
// changed.
func writeAtomic(dir string, payload map[string]fileProjection, own ownership) (bool, error) {
	for p := range payload {
		if err := validatePayloadPath(p); err != nil {
			return false, err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	if err := chownGroup(dir, own); err != nil {
		return false, err
	}
	oldTarget, _ := os.Readlink(filepath.Join(dir, dataDirName))
	if oldTarget != "" && sameContent(filepath.Join(dir, oldTarget), payload, own) {
		return false, nil
	}
	version, err := os.MkdirTemp(dir, "..version.")
	if err != nil {
		return false, err
	}
	if err := os.Chmod(version, 0o755); err != nil {
		return false, err
	}
	if err := chownGroup(version, own); err != nil {
		return false, err
	}
	for _, p := range slices.Sorted(maps.Keys(payload)) {
		if err := writeProjection(version, p, payload[p], own); err != nil {
			os.RemoveAll(version)
			return false, err
		}
	}
	tmpLink := filepath.Join(dir, "..data_tmp")
	_ = os.Remove(tmpLink)
	if err := os.Symlink(filepath.Base(version), tmpLink); err != nil {
		return false, err
	}
	if err := os.Rename(tmpLink, filepath.Join(dir, dataDirName)); err != nil {
		return false, err
	}
	// The visible names: one link per top-level entry.
	visible := map[string]bool{}
	for p := range payload {
		top, _, _ := strings.Cut(p, "/")
		visible[top] = true
	}
	for top := range visible {
		link := filepath.Join(dir, top)
		if target, err := os.Readlink(link); err == nil && target == filepath.Join(dataDirName, top) {
			continue
		}
		_ = os.RemoveAll(link)
		if err := os.Symlink(filepath.Join(dataDirName, top), link); err != nil {
			return false, err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == dataDirName || name == filepath.Base(version):
		case strings.HasPrefix(name, ".."):
			// Older versions.
			_ = os.RemoveAll(filepath.Join(dir, name))
		case !visible[name]:
			_ = os.RemoveAll(filepath.Join(dir, name))
		}
	}
	return true, nil
}

// validatePayloadPath refuses names that would leave the volume or clash
// with the writer's own entries.
func validatePayloadPath(p string) error {
	switch {
	case p == "":
		return errors.New("empty file name in a volume")
	case filepath.IsAbs(p):
		return fmt.Errorf("volume file %q: absolute path", p)
	case slices.Contains(strings.Split(p, "/"), ".."):
		return fmt.Errorf("volume file %q: contains '..'", p)
	case strings.HasPrefix(p, ".."):
		return fmt.Errorf("volume file %q: starts with '..'", p)
	}
	return nil
}

// fileMode is the mode a file ends with: its own, plus read for the group
// when an fsGroup owns it.
func (o ownership) fileMode(m os.FileMode) os.FileMode {
	if o.GID >= 0 {
		m |= 0o440
	}
	return m
}

func writeProjection(root, p string, f fileProjection, own ownership) error {
	path := filepath.Join(root, p)
	for d := filepath.Dir(path); d != root; d = filepath.Dir(d) {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if err := chownGroup(d, own); err != nil {
			return err
		}
	}
	if err := os.WriteFile(path, f.Data, 0o600); err != nil {
		return err
	}
	if err := chownGroup(path, own); err != nil {
		return err
	}
	return os.Chmod(path, own.fileMode(f.Mode))
}

func chownGroup(path string, own ownership) error {
	if own.GID < 0 {
		return nil
	}
	return os.Lchown(path, -1, own.GID)
}

// sameContent reports whether version holds exactly payload.
func sameContent(version string, payload map[string]fileProjection, own ownership) bool {
	count := 0
	err := filepath.WalkDir(version, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(version, path)
		if err != nil {
			return err
		}
		want, ok := payload[filepath.ToSlash(rel)]
		if !ok {
			return errors.New("extra file")
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(data, want.Data) || info.Mode().Perm() != own.fileMode(want.Mode).Perm() {
			return errors.New("changed")
		}
		count++
		return nil
	})
	return err == nil && count == len(payload)
}

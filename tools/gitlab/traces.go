package gitlab

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// traceStore keeps job logs: in memory, or, when the stand-in has a state
// file, one file per job in a traces directory beside it (appended to as
// the runner sends patches, so the state file is not rewritten for every
// patch). Its methods are called with s.mu held.
type traceStore struct {
	// dir is the directory of the log files; empty keeps logs in memory.
	dir   string
	mem   map[int64][]byte
	sizes map[int64]int64
}

func newTraceStore(statePath string) *traceStore {
	t := &traceStore{mem: map[int64][]byte{}, sizes: map[int64]int64{}}
	if statePath == "" {
		return t
	}
	t.dir = filepath.Join(filepath.Dir(statePath), "traces")
	return t
}

func (t *traceStore) path(id int64) string {
	return filepath.Join(t.dir, strconv.FormatInt(id, 10)+".log")
}

// size is the length of the job's log.
func (t *traceStore) size(id int64) (int64, error) {
	if t.dir == "" {
		return int64(len(t.mem[id])), nil
	}
	if n, ok := t.sizes[id]; ok {
		return n, nil
	}
	fi, err := os.Stat(t.path(id))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return 0, nil
	case err != nil:
		return 0, err
	}
	t.sizes[id] = fi.Size()
	return fi.Size(), nil
}

// read is the whole log.
func (t *traceStore) read(id int64) ([]byte, error) {
	if t.dir == "" {
		return append([]byte{}, t.mem[id]...), nil
	}
	data, err := os.ReadFile(t.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return []byte{}, nil
	}
	return data, err
}

// append adds data at the end of the log and returns the new size.
func (t *traceStore) append(id int64, data []byte) (int64, error) {
	if t.dir == "" {
		t.mem[id] = append(t.mem[id], data...)
		return int64(len(t.mem[id])), nil
	}
	n, err := t.size(id)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(t.dir, 0o700); err != nil {
		return 0, fmt.Errorf("trace directory: %w", err)
	}
	f, err := os.OpenFile(t.path(id), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return 0, err
	}
	w, werr := f.Write(data)
	cerr := f.Close()
	t.sizes[id] = n + int64(w)
	if werr != nil {
		return t.sizes[id], werr
	}
	return t.sizes[id], cerr
}

// checksum is the log's CRC32 as the runner reports it ("crc32:%08x",
// helpers/trace in gitlab-runner).
func (t *traceStore) checksum(id int64) (string, error) {
	data, err := t.read(id)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("crc32:%08x", crc32.ChecksumIEEE(data)), nil
}

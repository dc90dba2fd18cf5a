package podrunner

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteAtomic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vol")
	own := ownership{GID: os.Getgid()}
	changed, err := writeAtomic(dir, map[string]fileProjection{
		"config.toml": {Data: []byte("a = 1"), Mode: 0o600},
		"sub/token":   {Data: []byte("t1"), Mode: 0o400},
	}, own)
	require.NoError(t, err)
	assert.True(t, changed)
	read := func(p string) string {
		data, err := os.ReadFile(filepath.Join(dir, p))
		require.NoError(t, err)
		return string(data)
	}
	assert.Equal(t, "a = 1", read("config.toml"))
	assert.Equal(t, "t1", read("sub/token"))
	target, err := os.Readlink(filepath.Join(dir, "config.toml"))
	require.NoError(t, err)
	assert.Equal(t, "..data/config.toml", target, "visible names go through ..data")
	st, err := os.Stat(filepath.Join(dir, "sub/token"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o440), st.Mode().Perm(), "the fsGroup gets read access")
	assert.Equal(t, uint32(os.Getgid()), st.Sys().(*syscall.Stat_t).Gid)

	changed, err = writeAtomic(dir, map[string]fileProjection{
		"config.toml": {Data: []byte("a = 1"), Mode: 0o600},
		"sub/token":   {Data: []byte("t1"), Mode: 0o400},
	}, own)
	require.NoError(t, err)
	assert.False(t, changed, "the same payload changes nothing")

	changed, err = writeAtomic(dir, map[string]fileProjection{"sub/token": {Data: []byte("t2"), Mode: 0o400}}, own)
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, "t2", read("sub/token"))
	assert.NoFileExists(t, filepath.Join(dir, "config.toml"), "a file no longer in the payload is gone")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Len(t, names, 3, "..data, one version, sub: %v", names)

	_, err = writeAtomic(dir, map[string]fileProjection{"../escape": {}}, own)
	assert.ErrorContains(t, err, "contains '..'")
	_, err = writeAtomic(dir, map[string]fileProjection{"/abs": {}}, own)
	assert.ErrorContains(t, err, "absolute")
}

func TestSubPathSource(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "f"), []byte("x"), 0o644))
	require.NoError(t, os.Symlink("/etc", filepath.Join(root, "out")))
	got, err := subPathSource(root, "f", false)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(root, "f"), got)
	_, err = subPathSource(root, "out", false)
	assert.ErrorContains(t, err, "leads out of the volume")
	_, err = subPathSource(root, "../x", false)
	assert.ErrorContains(t, err, "without '..'")
	made, err := subPathSource(root, "new/dir", true)
	require.NoError(t, err)
	assert.DirExists(t, made, "created in an emptyDir")
}

func TestIPAM(t *testing.T) {
	a, err := newIPAM("10.244.128.0/30")
	require.NoError(t, err)
	ip, err := a.claim("u1", "10.244.128.2")
	require.NoError(t, err)
	assert.Equal(t, "10.244.128.2", ip.String(), "a pod keeps its IP")
	ip, err = a.claim("u2", "10.244.128.2")
	require.NoError(t, err)
	assert.Equal(t, "10.244.128.1", ip.String(), "a taken IP goes to its owner only")
	_, err = a.claim("u3", "")
	assert.ErrorContains(t, err, "no pod IP left")
	a.release("u1")
	ip, err = a.claim("u3", "10.0.0.1")
	require.NoError(t, err)
	assert.True(t, ip.Equal(net.ParseIP("10.244.128.2")), "an IP outside the range is not taken over")
}

func TestLogLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	l, err := openLog(path)
	require.NoError(t, err)
	long := strings.Repeat("x", maxLogLine+10)
	l.acquire()
	l.copyFrom(readCloser(strings.NewReader("one\ntwo\n"+long+"\nthree")), "stdout")
	l.release()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	lines := readLogLines(f, logOptions{tailLines: -1})
	var texts []string
	for _, ln := range lines {
		texts = append(texts, string(ln.text))
		assert.Equal(t, "stdout", ln.stream)
		assert.WithinDuration(t, time.Now(), ln.time, time.Hour)
	}
	assert.Equal(t, []string{"one", "two", long}, texts, "a cut line joined again; a line without its end is not yet one")
	_, _ = f.Seek(0, 0)
	tail := readLogLines(f, logOptions{tailLines: 1})
	require.Len(t, tail, 1)
	assert.Equal(t, long, string(tail[0].text))
}

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }

func readCloser(r *strings.Reader) nopCloser { return nopCloser{r} }

func TestConfigArgsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{
		Kubeconfig: "/k", StateDir: "/s", LogDir: "/l", MaskDirs: []string{"/m"},
		Selector: "app=x", Nodes: []string{"n0", "n1"}, Images: map[string]string{"registry.example/r": dir},
		Forwards: []string{"127.0.0.1:18080"}, APIServer: "127.0.0.1:16443", ServiceIP: "10.0.0.1",
		PodCIDR: "10.244.128.0/17", NodeIP: "127.0.0.1", Listen: "127.0.0.1:17250",
		TLSCert: "/c", TLSKey: "/k2", Kwok: "127.0.0.1:17247", CAFile: "/ca",
	}
	got, err := ParseArgs(cfg.Args())
	require.NoError(t, err)
	assert.Equal(t, cfg, got)

	bad := cfg
	bad.Selector, bad.Forwards, bad.Images = "", []string{"gitlab:80", "1.2.3.4"}, map[string]string{"r:1.0": "rel"}
	err = bad.Validate()
	require.Error(t, err)
	for _, want := range []string{"pod selector is empty", `"gitlab" is not an IPv4 address`, "want IP:port", "without tag or digest", "not an absolute path"} {
		assert.ErrorContains(t, err, want)
	}
}

func TestRepository(t *testing.T) {
	for in, want := range map[string]string{
		"registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v19.3.0":   "registry.gitlab.com/gitlab-org/gitlab-runner",
		"registry.gitlab.com/gitlab-org/gitlab-runner@sha256:abc":       "registry.gitlab.com/gitlab-org/gitlab-runner",
		"localhost:5000/runner:v1@sha256:abc":                           "localhost:5000/runner",
		"localhost:5000/runner":                                         "localhost:5000/runner",
		"alpine":                                                        "alpine",
		"registry.gitlab.com/gitlab-org/gitlab-runner:v19.3.0@sha256:x": "registry.gitlab.com/gitlab-org/gitlab-runner",
	} {
		assert.Equal(t, want, Repository(in), in)
	}
}

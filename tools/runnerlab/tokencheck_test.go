package runnerlab_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/entrypoint"
)

// The managers' token check (components/fleet/tokencheck.go, the
// entrypoint's watch_token) relies on what the runner's own `verify` does
// with the config.toml `register` wrote: exit 0 while GitLab accepts the
// token, non-zero once GitLab refuses it (the runner deleted: 403), and 0
// again when GitLab cannot be reached or fails (5xx), which says nothing of
// the token.
func TestRunnersVerifyFailsOnlyWhenGitLabRefusesTheToken(t *testing.T) {
	const admin = adminToken
	server := gitlabStandIn(t)
	srv := httptest.NewServer(server)
	t.Cleanup(srv.Close)

	id, token := createRunnerWithID(t, srv.URL, admin)
	dir := t.TempDir()
	config, template := filepath.Join(dir, "config.toml"), filepath.Join(dir, "runner-template.toml")
	require.NoError(t, os.WriteFile(config, []byte("concurrent = 1\n"), 0o600))
	require.NoError(t, os.WriteFile(template, []byte("[[runners]]\n  executor = \"kubernetes\"\n"), 0o600))
	out, code := runRunner(t, []string{"CI_SERVER_TOKEN=" + token},
		"register", "--non-interactive", "--url", srv.URL, "--executor", "kubernetes", "--name", testManager,
		"--config", config, "--template-config", template)
	require.Equal(t, 0, code, out)
	written, err := os.ReadFile(config)
	require.NoError(t, err)

	out, code = runRunner(t, nil, "verify", "--config", config)
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "is valid")

	// GitLab fails (500) or cannot be reached: not a token problem.
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "maintenance", http.StatusInternalServerError)
	}))
	t.Cleanup(failing.Close)
	for name, base := range map[string]string{"GitLab answers 500": failing.URL, "GitLab unreachable": closedAddress(t)} {
		other := filepath.Join(t.TempDir(), "config.toml")
		require.NoError(t, os.WriteFile(other, []byte(strings.ReplaceAll(string(written), srv.URL, base)), 0o600))
		out, code = runRunner(t, nil, "verify", "--config", other)
		assert.Equal(t, 0, code, "%s: %s", name, out)
		assert.NotContains(t, out, "is not valid", name)
	}

	req, err := http.NewRequest(http.MethodDelete, fmt.Sprintf("%s/api/v4/runners/%d", srv.URL, id), nil)
	require.NoError(t, err)
	req.Header.Set("PRIVATE-TOKEN", admin)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode, "the runner deleted by hand")

	out, code = runRunner(t, nil, "verify", "--config", config)
	assert.NotEqual(t, 0, code, out)
	assert.Contains(t, out, "is not valid")
	after, err := os.ReadFile(config)
	require.NoError(t, err)
	assert.Equal(t, string(written), string(after), "verify without --delete leaves config.toml as it was")
}

// createRunnerWithID creates an instance runner in the stand-in and returns
// its id and token.
func createRunnerWithID(t *testing.T, base, admin string) (int64, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/api/v4/user/runners", strings.NewReader(url.Values{"runner_type": {"instance_type"}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("PRIVATE-TOKEN", admin)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	var created struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&created))
	return created.ID, created.Token
}

// closedAddress is an http:// address nothing listens on.
func closedAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}

// The entrypoint as a manager pod runs it, with the runner's own `register`,
// `run` and `verify` against the GitLab stand-in and the token check on:
// the runner runs while its runner exists; deleted by hand in GitLab, the
// watch sees GitLab refuse the token and stops the runner gracefully, and the
// container's process ends (the pod is then not ready).
func TestEntrypointStopsTheRealRunnerOnceItsRunnerIsDeleted(t *testing.T) {
	const admin = adminToken
	server := gitlabStandIn(t)
	var verifies atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v4/runners/verify" {
			verifies.Add(1)
		}
		server.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	id, token := createRunnerWithID(t, srv.URL, admin)

	dir := t.TempDir()
	configDir, templates, secrets := filepath.Join(dir, "config"), filepath.Join(dir, "templates"), filepath.Join(dir, "secrets")
	for _, d := range []string{configDir, templates, secrets} {
		require.NoError(t, os.MkdirAll(d, 0o700))
	}
	require.NoError(t, os.WriteFile(filepath.Join(templates, "config.toml"), []byte("concurrent = 1\ncheck_interval = 1\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(templates, "runner-template.toml"), []byte("[[runners]]\n  executor = \"kubernetes\"\n  [runners.kubernetes]\n    namespace = \"jobs\"\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(secrets, "runner-token"), []byte(token), 0o600))
	script := filepath.Join(dir, entrypoint.FileName)
	require.NoError(t, os.WriteFile(script, []byte(entrypoint.Script), 0o700))

	cmd := exec.Command("sh", script)
	cmd.Env = append(os.Environ(), "PATH="+runnerBin(t)+":"+os.Getenv("PATH"), "HOME="+t.TempDir(),
		"CI_SERVER_URL="+srv.URL, "POD_NAME=builds-0", "POD_NAMESPACE=runners",
		"CONFIG_DIR="+configDir, "TEMPLATE_DIR="+templates, "RUNNER_TOKEN_FILE="+filepath.Join(secrets, "runner-token"),
		"REGISTER_BUDGET_SECONDS=60", "TOKEN_CHECK_SECONDS=1", "TOKEN_CHECK_FAILURES=2")
	cmd.Dir = dir
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	waitUntil(t, &out, "the runner to start and the watch to check the token a few times", func() bool {
		// register's verification, then three of the watch's
		return strings.Contains(out.String(), "starting the runner") && verifies.Load() >= 4
	})
	select {
	case err := <-done:
		t.Fatalf("the entrypoint ended while its runner exists: %v\n%s", err, out.String())
	default:
	}

	req, err := http.NewRequest(http.MethodDelete, fmt.Sprintf("%s/api/v4/runners/%d", srv.URL, id), nil)
	require.NoError(t, err)
	req.Header.Set("PRIVATE-TOKEN", admin)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)

	select {
	case err := <-done:
		require.NoError(t, err, "the runner's graceful stop ends the container's process cleanly\n%s", out.String())
	case <-time.After(2 * time.Minute): // a bound on a hang, not a timing claim
		t.Fatalf("the runner still runs after its runner was deleted:\n%s", out.String())
	}
	assert.Contains(t, out.String(), "GitLab refuses the runner token (2 of 2 checks in a row)")
	assert.Contains(t, out.String(), "the runner was deleted in GitLab or its token expired")
}

// lockedBuffer collects a process's output while a test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func waitUntil(t *testing.T, out *lockedBuffer, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 2 minutes for %s:\n%s", what, out.String())
		}
	}
}

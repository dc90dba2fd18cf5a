package runnerlab_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

var (
	builtOnce sync.Once
	builtDir  string
	builtErr  error
)

// runnerBin is the folder holding the built gitlab-runner: $GLRF_RUNNER_BIN
// when set (`eval "$(tools/toolchain.sh --env)"`), otherwise a build by the
// runner build's build.sh, once per test run, into a temporary folder
// (minutes with a cold Go build cache).
func runnerBin(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("GLRF_RUNNER_BIN"); dir != "" {
		_, err := os.Stat(filepath.Join(dir, "gitlab-runner"))
		require.NoError(t, err, "GLRF_RUNNER_BIN=%s has no gitlab-runner: run tools/toolchain.sh, or unset it to build here", dir)
		return dir
	}
	builtOnce.Do(func() {
		out, err := os.MkdirTemp("", "glrf-runnerlab-")
		if err != nil {
			builtErr = err
			return
		}
		t.Logf("GLRF_RUNNER_BIN is not set: building the runner with ../build/gitlab-runner/build.sh into %s", out)
		cmd := exec.Command("../build/gitlab-runner/build.sh", out)
		var log bytes.Buffer
		cmd.Stdout, cmd.Stderr = &log, &log
		if err := cmd.Run(); err != nil {
			builtErr = errors.New("build.sh failed: " + err.Error() + "\n" + log.String())
			return
		}
		builtDir = filepath.Join(out, "bin")
	})
	require.NoError(t, builtErr)
	return builtDir
}

// runRunner runs the built gitlab-runner with args and extra environment,
// in a temporary home, and returns its output and exit code.
func runRunner(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(runnerBin(t), "gitlab-runner"), args...)
	cmd.Env = append(append(os.Environ(), "HOME="+t.TempDir()), env...)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode()
	}
	require.NoError(t, err)
	return string(out), 0
}

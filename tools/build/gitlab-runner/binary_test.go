//go:build e2e

package gitlabrunner_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/modfile"
)

// The built binaries, run as a manager pod would run them.

const runnerModule = "gitlab.com/gitlab-org/gitlab-runner"

var (
	builtOnce sync.Once
	builtDir  string
	builtErr  error
)

// runnerBin is the folder holding gitlab-runner and gitlab-runner-helper:
// $GLRF_RUNNER_BIN when set (`eval "$(tools/toolchain.sh --env)"`), otherwise
// a build by build.sh, once per test run, into a temporary folder.
func runnerBin(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("GLRF_RUNNER_BIN"); dir != "" {
		for _, name := range []string{"gitlab-runner", "gitlab-runner-helper"} {
			_, err := os.Stat(filepath.Join(dir, name))
			require.NoError(t, err, "GLRF_RUNNER_BIN=%s has no %s: run tools/toolchain.sh, or unset it to build here", dir, name)
		}
		return dir
	}
	builtOnce.Do(func() {
		out, err := os.MkdirTemp("", "glrf-gitlab-runner-")
		if err != nil {
			builtErr = err
			return
		}
		t.Logf("GLRF_RUNNER_BIN is not set: building the runner with build.sh into %s (minutes when the Go build cache is cold)", out)
		cmd := exec.Command("./build.sh", out)
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

func TestMain(m *testing.M) {
	code := m.Run()
	if builtDir != "" {
		_ = os.RemoveAll(filepath.Dir(builtDir))
	}
	os.Exit(code)
}

// run runs a binary of the runner and returns its combined output and exit
// code. HOME is a temporary folder: the runner writes no file of the user's.
func run(t *testing.T, binary string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(runnerBin(t), binary), args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode()
	}
	require.NoError(t, err)
	return string(out), 0
}

// expectedVersion derives what --version must say from go.mod's pseudo-version
// and the module's VERSION file, as build.sh stamps it.
func expectedVersion(t *testing.T) (version, revision, built string) {
	t.Helper()
	data, err := os.ReadFile("go.mod")
	require.NoError(t, err)
	mod, err := modfile.ParseLax("go.mod", data, nil)
	require.NoError(t, err)
	var pseudo string
	for _, r := range mod.Require {
		if r.Mod.Path == runnerModule {
			pseudo = r.Mod.Version
		}
	}
	m := regexp.MustCompile(`[-.](\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})-([0-9a-f]{8})[0-9a-f]{4}$`).FindStringSubmatch(pseudo)
	require.NotNil(t, m, "go.mod must pin %s at a pseudo-version, got %q", runnerModule, pseudo)
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", runnerModule).Output()
	require.NoError(t, err)
	release, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(dir)), "VERSION"))
	require.NoError(t, err)
	revision = m[7]
	version = strings.TrimSpace(string(release)) + "~pre.g" + revision
	built = m[1] + "-" + m[2] + "-" + m[3] + "T" + m[4] + ":" + m[5] + ":" + m[6] + "Z"
	return version, revision, built
}

func TestVersionNamesTheSource(t *testing.T) {
	version, revision, built := expectedVersion(t)
	for _, binary := range []string{"gitlab-runner", "gitlab-runner-helper"} {
		t.Run(binary, func(t *testing.T) {
			out, code := run(t, binary, "--version")
			require.Equal(t, 0, code, out)
			assert.Contains(t, out, "Version:      "+version+"\n")
			assert.Contains(t, out, "Git revision: "+revision+"\n")
			assert.Contains(t, out, "Built:        "+built+"\n")
			assert.Contains(t, out, "OS/Arch:      linux/amd64\n")
		})
	}
}

func TestLintAcceptsAFleetShapedConfig(t *testing.T) {
	config, err := filepath.Abs("testdata/config.toml")
	require.NoError(t, err)
	out, code := run(t, "gitlab-runner", "lint", "--config", config)
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "Configuration file is valid.")
}

func TestLintRefusesUnknownKeys(t *testing.T) {
	config, err := filepath.Abs("testdata/unknown-key.toml")
	require.NoError(t, err)
	out, code := run(t, "gitlab-runner", "lint", "--config", config)
	assert.NotEqual(t, 0, code, out)
	assert.Contains(t, out, "unknown key: runners.kubernetes.poll_timout")
}

func TestLintRefusesSchemaViolations(t *testing.T) {
	config, err := filepath.Abs("testdata/schema-violation.toml")
	require.NoError(t, err)
	out, code := run(t, "gitlab-runner", "lint", "--config", config)
	assert.NotEqual(t, 0, code, out)
	assert.Contains(t, out, "config schema validation failed")
	assert.Contains(t, out, "at '/runners/0/url': minLength")
	assert.Contains(t, out, "at '/runners/0/token': minLength")
}

func TestLintRefusesAMissingConfig(t *testing.T) {
	out, code := run(t, "gitlab-runner", "lint", "--config", filepath.Join(t.TempDir(), "config.toml"))
	assert.NotEqual(t, 0, code, out)
	assert.Contains(t, out, "config file not found")
}

func TestRegisterHelpListsTheFlagsTheEntrypointUses(t *testing.T) {
	out, code := run(t, "gitlab-runner", "register", "--help")
	require.Equal(t, 0, code, out)
	for _, flag := range []string{"--non-interactive", "--url", "--executor", "--name", "--config", "--template-config"} {
		assert.Contains(t, out, flag)
	}
}

// A command that reaches a stand-in stops with its refusal, not silently:
// `gitlab-runner steps serve` (native steps, inside job containers) needs the
// refused step-runner.
func TestBinaryReachingAStandinFailsLoudly(t *testing.T) {
	out, code := run(t, "gitlab-runner", "steps", "serve", "--socket", filepath.Join(t.TempDir(), "steps.sock"))
	assert.NotEqual(t, 0, code, out)
	assert.Contains(t, out, "stand-in for gitlab.com/gitlab-org/step-runner@")
	assert.Contains(t, out, "api.SocketAddr was called")
}

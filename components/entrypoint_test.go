package components_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"example.com/gitlab-runner-fleet/components"
)

func TestEntrypointIsValidPOSIXShell(t *testing.T) {
	cmd := exec.Command("sh", "-n")
	cmd.Stdin = strings.NewReader(components.EntrypointScript)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "sh -n: %s", out)
}

// fakeRunner is a gitlab-runner stand-in that records its arguments and
// fails `register` a given number of times before succeeding.
const fakeRunner = `#!/bin/sh
echo "$*" >>"$FAKE_LOG"
if [ "$1" = register ]; then
	n=$(cat "$FAKE_FAILS" 2>/dev/null || echo 0)
	if [ "$n" -gt 0 ]; then echo $((n - 1)) >"$FAKE_FAILS"; exit 1; fi
fi
exit 0
`

type entrypointRun struct {
	dir, configDir, log string
	out                 string
	err                 error
}

func runEntrypoint(t *testing.T, podName, token string, failures int) entrypointRun {
	t.Helper()
	dir := t.TempDir()
	r := entrypointRun{dir: dir, configDir: filepath.Join(dir, "config"), log: filepath.Join(dir, "calls")}
	bin, templates, secrets := filepath.Join(dir, "bin"), filepath.Join(dir, "templates"), filepath.Join(dir, "secrets")
	for _, d := range []string{bin, templates, secrets, r.configDir} {
		require.NoError(t, os.MkdirAll(d, 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(bin, "gitlab-runner"), []byte(fakeRunner), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(bin, "sleep"), []byte("#!/bin/sh\nexit 0\n"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(templates, "config.toml"), []byte("concurrent = 1\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(templates, "runner-template.toml"), []byte("[[runners]]\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(secrets, "runner-token"), []byte(token), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "fails"), []byte(strconv.Itoa(failures)), 0o644))
	script := filepath.Join(dir, "entrypoint.sh")
	require.NoError(t, os.WriteFile(script, []byte(components.EntrypointScript), 0o755))

	cmd := exec.Command("sh", script)
	cmd.Env = append(os.Environ(),
		"PATH="+bin+":"+os.Getenv("PATH"),
		"CI_SERVER_URL=https://gitlab.example.com/",
		"POD_NAME="+podName, "POD_NAMESPACE=runners",
		"CONFIG_DIR="+r.configDir, "TEMPLATE_DIR="+templates,
		"RUNNER_TOKEN_FILE="+filepath.Join(secrets, "runner-token"),
		"REGISTER_ATTEMPTS=3",
		"FAKE_LOG="+r.log, "FAKE_FAILS="+filepath.Join(dir, "fails"),
	)
	out, err := cmd.CombinedOutput()
	r.out, r.err = string(out), err
	return r
}

func (r entrypointRun) calls(t *testing.T) []string {
	data, err := os.ReadFile(r.log)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

func (r entrypointRun) systemID(t *testing.T) string {
	data, err := os.ReadFile(filepath.Join(r.configDir, ".runner_system_id"))
	require.NoError(t, err)
	return strings.TrimSpace(string(data))
}

func TestEntrypointVerifiesTokenThenRuns(t *testing.T) {
	r := runEntrypoint(t, "builds-0", "glrt-abc123", 0)
	require.NoError(t, r.err, r.out)
	calls := r.calls(t)
	require.Len(t, calls, 2)
	assert.Contains(t, calls[0], "register --non-interactive --url https://gitlab.example.com/ --token glrt-abc123 --executor kubernetes --name builds-0")
	assert.Contains(t, calls[0], "--template-config "+filepath.Join(r.dir, "templates", "runner-template.toml"))
	for _, forbidden := range []string{"--locked", "--access-level", "--run-untagged", "--maximum-timeout", "--paused", "--tag-list", "--maintenance-note", "--registration-token"} {
		assert.NotContains(t, calls[0], forbidden, "server-side settings belong to the UserRunner")
	}
	assert.Equal(t, "run --config "+filepath.Join(r.configDir, "config.toml"), calls[1])
	assert.NotContains(t, r.out, "glrt-abc123", "the token is never logged")
	config, err := os.ReadFile(filepath.Join(r.configDir, "config.toml"))
	require.NoError(t, err)
	assert.Equal(t, "concurrent = 1\n", string(config), "globals copied into the config dir")
}

func TestEntrypointSystemIDIsValidAndStablePerPod(t *testing.T) {
	first := runEntrypoint(t, "builds-0", "glrt-abc", 0)
	again := runEntrypoint(t, "builds-0", "glrt-abc", 0)
	other := runEntrypoint(t, "builds-1", "glrt-abc", 0)
	require.NoError(t, first.err, first.out)
	assert.Regexp(t, `^[sr]_[0-9a-zA-Z]{12}$`, first.systemID(t))
	assert.Equal(t, first.systemID(t), again.systemID(t), "a restarted pod keeps its identity")
	assert.NotEqual(t, first.systemID(t), other.systemID(t), "each ordinal is its own manager")
}

func TestEntrypointRetriesTransientFailures(t *testing.T) {
	r := runEntrypoint(t, "builds-0", "glrt-abc", 2)
	require.NoError(t, r.err, r.out)
	calls := r.calls(t)
	require.Len(t, calls, 4, "two failed registers, one success, then run")
	assert.Contains(t, r.out, "attempt 2 of 3")
}

func TestEntrypointGivesUpAfterAttempts(t *testing.T) {
	r := runEntrypoint(t, "builds-0", "glrt-abc", 5)
	require.Error(t, r.err)
	assert.Contains(t, r.out, "giving up")
	for _, c := range r.calls(t) {
		assert.NotContains(t, c, "run --config", "never runs unverified")
	}
}

func TestEntrypointRejectsRegistrationTokens(t *testing.T) {
	r := runEntrypoint(t, "builds-0", "GR1348941old-registration-token", 0)
	require.Error(t, r.err)
	assert.Contains(t, r.out, "does not hold a runner authentication token")
	assert.Empty(t, r.calls(t))
}

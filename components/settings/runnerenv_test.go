package settings_test

import (
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runnerSourceDir is the source of the GitLab Runner release the lab builds
// (tools/build/gitlab-runner pins it), from the Go module cache.
func runnerSourceDir(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "gitlab.com/gitlab-org/gitlab-runner")
	cmd.Dir = filepath.Join("..", "..", "tools", "build", "gitlab-runner")
	out, err := cmd.CombinedOutput()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Fatalf("this test reads GitLab Runner's source: `go list -m` in tools/build/gitlab-runner failed (run `go mod download` there): %v\n%s", err, out)
	}
	return dir
}

// Every variable gitlab-runner reads from its environment (its config's
// `env` tags and its commands' flags, in its source) is refused as a
// manager variable: set there, it would change the runner behind the
// fleet's settings and checks.
func TestManagerVariablesGitlabRunnerReadsAreRefused(t *testing.T) {
	envTag := regexp.MustCompile(`env:"([A-Za-z0-9_]+)"`)
	flagEnv := regexp.MustCompile(`EnvVars?:\s*(?:\[\]string\{)?"([A-Za-z0-9_]+)"`)
	read := map[string]bool{}
	root := runnerSourceDir(t)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		text, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, re := range []*regexp.Regexp{envTag, flagEnv} {
			for _, m := range re.FindAllStringSubmatch(string(text), -1) {
				read[m[1]] = true
			}
		}
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, len(read), 100, "the scan found the runner's variables")
	for _, name := range slices.Sorted(maps.Keys(read)) {
		fleets := podWith(t, `{"env":[{"name":"`+name+`","value":"x"}]}`, `{}`)
		assert.ErrorContains(t, planned(fleets).Err(), "manager.pod.env[0].name", "gitlab-runner reads %s", name)
	}
	for _, name := range []string{"HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "no_proxy", "TZ", "SSL_CERT_DIR"} {
		assert.NoError(t, planned(podWith(t, `{"env":[{"name":"`+name+`","value":"x"}]}`, `{}`)).Err(), "%s is the user's", name)
	}
}

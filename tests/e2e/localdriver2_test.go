//go:build e2e

package e2e

// The procedures the README names, run as a user runs them: through the
// local driver's binary (go run ./cmd/local), in a project folder of its
// own with the driver's file backend (.local/state), on a stack other than
// dev with its own passphrase. Each step checks what the user would look
// at: the engine's output, the stack file, GitLab and the cluster.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/glrf/gitlab-runner-fleet/localengine"
)

var (
	driverOnce  sync.Once
	driverBuilt string
)

// sharedDriver builds cmd/local once for the tests of this file, into the
// suite's temporary folder (removed when the suite ends).
func sharedDriver(t *testing.T) string {
	t.Helper()
	driverOnce.Do(func() {
		dir := filepath.Join(filepath.Dir(h.stateDir), "local-driver")
		if err := os.MkdirAll(dir, 0o755); err == nil {
			driverBuilt = localDriver(t, dir)
		}
	})
	require.NotEmpty(t, driverBuilt, "building cmd/local failed in an earlier test")
	return driverBuilt
}

// driverProject is a project folder the driver runs in, as a clone's root.
type driverProject struct {
	dir, bin, stack, passphrase string
	env                         []string
}

func newDriverProject(t *testing.T, stack, passphrase string, config map[string]any) *driverProject {
	t.Helper()
	p := &driverProject{dir: t.TempDir(), stack: stack, passphrase: passphrase}
	p.bin = sharedDriver(t)
	data, err := os.ReadFile(filepath.Join(h.root, "Pulumi.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(p.dir, "Pulumi.yaml"), data, 0o644))
	// The plugins the toolchain installed (the driver's PULUMI_HOME is the
	// project's .local/pulumi-home).
	require.NoError(t, os.MkdirAll(filepath.Join(p.dir, ".local"), 0o755))
	require.NoError(t, os.Symlink(h.pulumiHome, filepath.Join(p.dir, ".local", "pulumi-home")))
	p.writeConfig(t, config)
	p.env = append(environWithout("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE", "KUBECONFIG", "GITLAB_TOKEN", "PULUMI_SKIP_CONFIRMATIONS"),
		"KUBECONFIG="+h.kubeconfig, "GITLAB_TOKEN="+h.token, "GLRF_PULUMI="+h.pulumiBin, "PULUMI_CONFIG_PASSPHRASE="+passphrase)
	t.Cleanup(func() {
		if _, err := os.Stat(p.stackFile()); err == nil {
			if out, err := p.run("destroy", "--yes"); err != nil {
				t.Logf("cleanup: destroy: %v\n%s", err, tail(out, 30))
			}
			_, _ = p.run("stack", "rm", "--yes", "--force")
		}
	})
	return p
}

func (p *driverProject) stackFile() string {
	return filepath.Join(p.dir, "Pulumi."+p.stack+".yaml")
}

// writeConfig replaces the stack file's config, keeping what the CLI added.
func (p *driverProject) writeConfig(t *testing.T, config map[string]any) {
	t.Helper()
	doc := map[string]any{}
	if data, err := os.ReadFile(p.stackFile()); err == nil {
		require.NoError(t, yaml.Unmarshal(data, &doc))
	}
	if existing, ok := doc["config"].(map[string]any); ok {
		for k, v := range existing {
			if _, replaced := config[k]; !replaced {
				config[k] = v // a secret set with config set
			}
		}
	}
	doc["config"] = config
	data, err := yaml.Marshal(doc)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p.stackFile(), data, 0o644))
}

// run runs the driver with --stack, stdin empty (not a terminal), and
// returns what it printed, stdout and stderr together.
func (p *driverProject) run(args ...string) (string, error) {
	cmd := exec.Command(p.bin, append([]string{"--stack", p.stack}, args...)...)
	cmd.Dir, cmd.Env = p.dir, p.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (p *driverProject) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := p.run(args...)
	require.NoError(t, err, "go run ./cmd/local %s:\n%s", strings.Join(args, " "), tail(out, 60))
	return out
}

// urn is the URN of the stack's resource of this type and name, from its state.
func (p *driverProject) urn(t *testing.T, typ, name string) string {
	t.Helper()
	stack, err := localengine.ExistingStack(context.Background(), p.stack, localengine.Options{
		WorkDir: p.dir, StateDir: filepath.Join(p.dir, ".local", "state"), PulumiHome: h.pulumiHome, PulumiBin: h.pulumiBin,
		Env: map[string]string{"PULUMI_CONFIG_PASSPHRASE": p.passphrase}})
	require.NoError(t, err)
	for _, r := range deployment(t, &testStack{name: p.stack, dir: p.dir, stack: stack}).Resources {
		if string(r.Type) == typ && r.URN.Name() == name {
			return string(r.URN)
		}
	}
	t.Fatalf("no %s %s in the state", typ, name)
	return ""
}

// runnerTags are a GitLab runner's tags.
func runnerTags(t *testing.T, id int) []string {
	t.Helper()
	status, body := h.gitlab(t, http.MethodGet, fmt.Sprintf("runners/%d", id), nil)
	require.Equal(t, http.StatusOK, status, string(body))
	var runner struct {
		TagList []string `json:"tag_list"`
	}
	require.NoError(t, json.Unmarshal(body, &runner))
	return runner.TagList
}

// A new stack, made and driven through the driver alone: config set
// --secret creates it with its own passphrase; preview shows the compact
// display; up asks unless --yes; up --target changes only its target;
// preview --diff shows config.toml whole; up --replace rotates the token;
// a preview after up changes no output; stack output, refresh, recover,
// destroy and stack rm do what pulumi's do.
func TestLocalDriverProcedures(t *testing.T) {
	const name, group, stack = "drv-procs", 91, "staging"
	ns := "gitlab-runner-" + name
	description := name + " (" + stack + ")"
	fleetSettings := func(concurrent int, tags ...string) []any {
		return []any{fleet{
			"name":    name,
			"runner":  map[string]any{"type": "group_type", "groupId": group, "tags": tags},
			"manager": map[string]any{"replicas": 1, "concurrent": concurrent, "rolloutTimeout": 120},
		}}
	}
	config := func(concurrent int, tags ...string) map[string]any {
		return map[string]any{
			"gitlab:baseUrl":                h.gitlabAPI,
			"kubernetes:context":            "glrf-local",
			"gitlab-runner-fleet:apiServer": suiteCluster().apiServer(t),
			"gitlab-runner-fleet:fleets":    fleetSettings(concurrent, tags...),
		}
	}
	p := newDriverProject(t, stack, "e2e staging passphrase", config(4, "e2e"))

	// config set --secret on a stack the backend does not know yet creates
	// it; the value is encrypted with the stack's own passphrase.
	p.mustRun(t, "config", "set", "--secret", "releaseKey", "s3cr3t-value")
	file, err := os.ReadFile(p.stackFile())
	require.NoError(t, err)
	assert.Contains(t, string(file), "encryptionsalt")
	assert.Contains(t, string(file), "secure:")
	assert.NotContains(t, string(file), "s3cr3t-value")
	assert.Equal(t, "s3cr3t-value\n", p.mustRun(t, "config", "get", "releaseKey"))

	// The default preview is the engine's compact display; no step details.
	out := p.mustRun(t, "preview")
	assert.Contains(t, out, "Previewing update ("+stack+")")
	assert.Contains(t, out, "+  kubernetes:apps/v1:StatefulSet "+name+" create")
	assert.NotContains(t, out, "[urn=", "step details only with --diff")

	// up asks for a confirmation that nobody can give here: refused before
	// anything runs.
	out, err = p.run("up")
	require.Error(t, err)
	assert.Contains(t, out, "--yes or --skip-preview must be passed in to proceed when running in non-interactive mode")
	assert.Empty(t, faultRunners(t, description), "nothing was created")

	out = p.mustRun(t, "up", "--yes", "--message", "first deploy", "--parallel", "4")
	assert.Contains(t, out, "Previewing update ("+stack+")", "up previews first")
	assert.Contains(t, out, "Updating ("+stack+")")
	runners := faultRunners(t, description)
	require.Len(t, runners, 1)
	first := runners[0].ID
	token := tokenOf(t, name)

	// A preview after up changes nothing, outputs included.
	out = p.mustRun(t, "preview")
	assert.Contains(t, out, "unchanged")
	assert.NotContains(t, out, "=>", "no output changes:\n%s", out)
	assert.NotRegexp(t, `(?m)^\s+[~+-] fleets`, out)

	// stack output, as pulumi's.
	var outputs map[string]map[string]map[string]any
	require.NoError(t, json.Unmarshal([]byte(p.mustRun(t, "stack", "output", "--json")), &outputs))
	assert.Equal(t, fmt.Sprint(first), outputs["fleets"][name]["runnerId"])
	assert.NotContains(t, outputs["fleets"][name], "rollout", "the rollout is no output (the status command shows it)")
	assert.Contains(t, p.mustRun(t, "stack", "output"), "Current stack outputs (1):")
	assert.JSONEq(t, p.mustRun(t, "stack", "output", "fleets", "--json"), p.mustRun(t, "stack", "output", "fleets"))

	// The manual rotation: up --replace <the runner's URN>.
	runnerURN := p.urn(t, "gitlab:index/userRunner:UserRunner", name)
	assert.Contains(t, p.mustRun(t, "stack", "--show-urns"), "URN: "+runnerURN+"\n", "where a user finds it")
	p.mustRun(t, "up", "--yes", "--replace", runnerURN)
	runners = faultRunners(t, description)
	require.Len(t, runners, 1, "the old runner is deleted")
	assert.NotEqual(t, first, runners[0].ID, "a new runner")
	assert.NotEqual(t, token, tokenOf(t, name), "with a new token in the Secret")
	waitReady(t, ns, name)

	// --target: the runner's tags change in GitLab, the managers'
	// configuration waits for a full up.
	p.writeConfig(t, config(6, "e2e", "targeted"))
	p.mustRun(t, "up", "--yes", "--target", runnerURN)
	assert.ElementsMatch(t, []string{"e2e", "targeted"}, runnerTags(t, runners[0].ID))
	out = p.mustRun(t, "preview")
	assert.Contains(t, out, "kubernetes:core/v1:ConfigMap", "the configuration is still to change:\n%s", out)
	assert.NotContains(t, out, "gitlab:index/userRunner:UserRunner", "the runner is up to date:\n%s", out)

	// preview --diff shows config.toml whole: every line, the changed ones
	// marked.
	out = p.mustRun(t, "preview", "--diff")
	whole := out[strings.Index(out, "config.toml, whole"):]
	assert.Contains(t, whole, "  - concurrent = 4\n  + concurrent = 6\n")
	for _, line := range []string{"check_interval = 3", `log_level = "info"`, `listen_address = ":9252"`, "shutdown_timeout = 30"} {
		assert.Contains(t, whole, "    "+line+"\n", "unchanged lines are shown too")
	}
	p.mustRun(t, "up", "--yes")
	waitReady(t, ns, name)

	// refresh and recover on a healthy stack change nothing.
	assert.Contains(t, p.mustRun(t, "refresh", "--yes"), "Refreshing ("+stack+")")
	assert.Contains(t, p.mustRun(t, "recover"), "no pending creates")

	// destroy asks too; destroy --yes removes everything.
	_, err = p.run("destroy")
	require.Error(t, err)
	require.Len(t, faultRunners(t, description), 1, "nothing destroyed without --yes")
	p.mustRun(t, "destroy", "--yes")
	assert.Empty(t, faultRunners(t, description))
	_, err = h.kubectl(t, "get", "namespace", ns)
	assert.Error(t, err, "the namespace is gone")

	// stack rm removes the stack and its stack file.
	assert.Contains(t, p.mustRun(t, "stack", "rm", "--yes"), `Stack "`+stack+`" has been removed.`)
	assert.NoFileExists(t, p.stackFile())
	out, err = p.run("stack", "output")
	require.Error(t, err)
	assert.Contains(t, out, `there is no stack "`+stack+`"`)
}

// A preview that succeeds prints its warnings; one that fails prints the
// engine's error once, not wrapped in the Automation API's copy of the
// whole output. --help lists the driver's flags only.
func TestLocalDriverWarningsErrorsAndHelp(t *testing.T) {
	const name, group = "drv-warn", 92
	f := groupFleet(name, group)
	f["cache"] = map[string]any{"type": "s3", "existingSecret": "cache-keys",
		"s3": map[string]any{"serverAddress": "minio.example:9000", "bucketName": "ci-cache"}}
	config := map[string]any{
		"gitlab:baseUrl":                h.gitlabAPI,
		"kubernetes:context":            "glrf-local",
		"gitlab-runner-fleet:apiServer": suiteCluster().apiServer(t),
		"gitlab-runner-fleet:fleets":    []any{f},
	}
	p := newDriverProject(t, "warnings", "e2e warnings passphrase", config)

	out := p.mustRun(t, "preview")
	assert.Contains(t, out, "warning: fleets[0] ("+name+").cache.existingSecret: names Secret gitlab-runner-"+name+"/cache-keys, which does not exist")

	f["manager"] = map[string]any{"replica": 3}
	p.writeConfig(t, config)
	out, err := p.run("preview")
	require.Error(t, err)
	const problem = `fleets[0] (` + name + `).manager.replica: unknown setting (did you mean "replicas"?)`
	assert.Equal(t, 1, strings.Count(out, problem), "the error once:\n%s", out)
	assert.Equal(t, 1, strings.Count(out, "Previewing update"), "the preview's output once:\n%s", out)
	assert.NotContains(t, out, "\nstdout: ")
	assert.NotContains(t, out, "\ncode: ")

	for _, args := range [][]string{{"--help"}, {"up", "--help"}, {"preview", "--help"}, {"stack", "output", "--help"}} {
		out, err := p.run(args...)
		require.NoError(t, err, "%v: %s", args, out)
		for _, theirs := range []string{"logtostderr", "log_dir", "alsologtostderr", "stderrthreshold", "vmodule"} {
			assert.NotContains(t, out, theirs, "%v shows glog's flags", args)
		}
	}
	out, _ = p.run("up", "--help")
	for _, ours := range []string{"-target", "-target-dependents", "-replace", "-diff", "-parallel", "-message", "-yes", "-skip-preview", "-stack"} {
		assert.Contains(t, out, ours)
	}
}

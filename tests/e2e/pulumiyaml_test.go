//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// The multi-language package through the pulumi CLI a user runs: the
// component provider built from provider/, and the Pulumi YAML program of
// examples/yaml that uses it, against the suite's cluster and GitLab
// stand-in. The CLI runs the program with the YAML language host of the
// toolchain and the provider as a plugin; nothing here goes through the Go
// program or the Automation API.

// providerPackage is the gitlab-runner-fleet provider's type token prefix.
const providerPackage = "gitlab-runner-fleet"

var providerBuild struct {
	once sync.Once
	bin  string
	err  error
}

// providerBinary builds the provider once per suite run (go build reuses
// its cache when provider/ and the component did not change).
func providerBinary(t testing.TB) string {
	t.Helper()
	providerBuild.once.Do(func() {
		dir := filepath.Join(filepath.Dir(h.stateDir), "provider")
		cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./cmd/pulumi-resource-gitlab-runner-fleet")
		cmd.Dir = filepath.Join(h.root, "provider")
		if out, err := cmd.CombinedOutput(); err != nil {
			providerBuild.err = fmt.Errorf("building the gitlab-runner-fleet provider (go build ./cmd/pulumi-resource-gitlab-runner-fleet in provider/): %v\n%s", err, out)
			return
		}
		providerBuild.bin = filepath.Join(dir, "pulumi-resource-gitlab-runner-fleet")
	})
	require.NoError(t, providerBuild.err)
	return providerBuild.bin
}

// yamlProgram is a copy of examples/yaml with a stack of its own, a local
// backend of its own and a PULUMI_HOME of its own: the suite's plugins
// (kubernetes, the gitlab stand-in, the YAML language host) linked in, the
// package's plugin installed by the CLI as the README says.
type yamlProgram struct {
	dir   string
	env   []string
	stack string
}

// newYamlProgram prepares the example for stack with the suite's GitLab
// and cluster, up to `pulumi package add`; edit, if given, changes the
// program's text first. The stack is destroyed when the test ends.
func newYamlProgram(t *testing.T, stack string, edit func(string) string) *yamlProgram {
	t.Helper()
	bin := providerBinary(t)
	p := &yamlProgram{dir: t.TempDir(), stack: stack}
	home, state := t.TempDir(), t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(home, "plugins"), 0o755))
	suitePlugins := filepath.Join(h.pulumiHome, "plugins")
	entries, err := os.ReadDir(suitePlugins)
	require.NoError(t, err)
	for _, e := range entries {
		if !e.IsDir() {
			continue // the CLI's .lock and .lastused records
		}
		// The CLI lists plugins by folder and skips linked folders: a folder
		// of links to the plugin's files.
		dir := filepath.Join(home, "plugins", e.Name())
		require.NoError(t, os.Mkdir(dir, 0o755))
		files, err := os.ReadDir(filepath.Join(suitePlugins, e.Name()))
		require.NoError(t, err)
		for _, f := range files {
			require.NoError(t, os.Symlink(filepath.Join(suitePlugins, e.Name(), f.Name()), filepath.Join(dir, f.Name())))
		}
	}
	p.env = append(os.Environ(),
		"PULUMI_HOME="+home,
		"PULUMI_BACKEND_URL=file://"+state,
		"PULUMI_CONFIG_PASSPHRASE=gitlab-runner-fleet-e2e",
		"PULUMI_SKIP_UPDATE_CHECK=1",
		// Fail at once, naming the plugin, instead of trying to download it.
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true",
		"KUBECONFIG="+h.kubeconfig,
		"GITLAB_TOKEN="+h.token,
	)

	program, err := os.ReadFile(filepath.Join(h.root, "examples", "yaml", "Pulumi.yaml"))
	require.NoError(t, err)
	text := string(program)
	if edit != nil {
		text = edit(text)
	}
	require.NoError(t, os.WriteFile(filepath.Join(p.dir, "Pulumi.yaml"), []byte(text), 0o644))

	version := providerSchema(t)["version"].(string)
	p.mustRun(t, "plugin", "install", "resource", providerPackage, version, "--file", bin)
	p.mustRun(t, "package", "add", providerPackage+"@"+version)
	p.mustRun(t, "stack", "init", stack)
	port := strconv.Itoa(suiteCluster().apiServer(t)["port"].(int))
	for _, kv := range [][]string{
		{"gitlab:baseUrl", h.gitlabAPI},
		{"kubernetes:context", "glrf-local"},
		{"groupId", "31"},
		{"--path", "apiServer.cidrs[0]", "127.0.0.1/32"},
		{"--path", "apiServer.port", port},
	} {
		p.mustRun(t, append([]string{"config", "set"}, kv...)...)
	}
	t.Cleanup(func() {
		if out, err := p.run("destroy", "--yes", "--non-interactive"); err != nil {
			t.Logf("cleanup: destroying %s: %v\n%s", stack, err, tail(out, 30))
		}
	})
	return p
}

// run runs the pinned pulumi CLI in the program's folder.
func (p *yamlProgram) run(args ...string) (string, error) {
	cmd := exec.Command(h.pulumiBin, args...)
	cmd.Dir, cmd.Env = p.dir, p.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (p *yamlProgram) mustRun(t testing.TB, args ...string) string {
	t.Helper()
	out, err := p.run(args...)
	require.NoError(t, err, "pulumi %s:\n%s", strings.Join(args, " "), tail(out, 40))
	return out
}

// previewSteps runs `pulumi preview --json` and returns the planned
// operation of every resource, keyed by "type name".
func (p *yamlProgram) previewSteps(t testing.TB) map[string]string {
	t.Helper()
	cmd := exec.Command(h.pulumiBin, "preview", "--json", "--non-interactive")
	cmd.Dir, cmd.Env = p.dir, p.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	require.NoError(t, err, "pulumi preview --json:\n%s\n%s", tail(stdout.String(), 40), tail(stderr.String(), 20))
	var preview struct {
		Steps []struct {
			Op  string `json:"op"`
			URN string `json:"urn"`
		} `json:"steps"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &preview), stdout.String())
	steps := map[string]string{}
	for _, s := range preview.Steps {
		parts := strings.Split(s.URN, "::")
		typ := parts[len(parts)-2]
		typ = typ[strings.LastIndex(typ, "$")+1:]
		steps[typ+" "+parts[len(parts)-1]] = s.Op
	}
	return steps
}

// providerSchema is the package's schema as `pulumi package get-schema`
// reads it from the provider binary.
func providerSchema(t testing.TB) map[string]any {
	t.Helper()
	cmd := exec.Command(h.pulumiBin, "package", "get-schema", providerBinary(t))
	cmd.Env = append(os.Environ(), "PULUMI_SKIP_UPDATE_CHECK=1", "PULUMI_HOME="+h.pulumiHome)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "pulumi package get-schema: %s", stderr.String())
	var schema map[string]any
	require.NoError(t, json.Unmarshal(out, &schema))
	return schema
}

// The CLI reads the package's schema from the provider: the component,
// its settings as typed inputs, its outputs; the example pins the version
// the provider reports.
func TestPulumiYamlSchema(t *testing.T) {
	schema := providerSchema(t)
	assert.Equal(t, providerPackage, schema["name"])
	resources, _ := schema["resources"].(map[string]any)
	fleet, _ := resources[providerPackage+":index:RunnerFleet"].(map[string]any)
	require.NotNil(t, fleet, "the schema has the RunnerFleet component: %v", resources)
	assert.Equal(t, true, fleet["isComponent"])
	inputs, _ := fleet["inputProperties"].(map[string]any)
	for _, key := range []string{"name", "runner", "manager", "executor", "cache", "network", "apiServer", "gitlabUrl"} {
		assert.Contains(t, inputs, key, "input property %s", key)
	}
	outputs, _ := fleet["properties"].(map[string]any)
	for _, key := range []string{"namespace", "jobNamespace", "statefulSetName", "runnerId", "tokenRotatesAfter"} {
		assert.Contains(t, outputs, key, "output property %s", key)
	}
	// runner.groupId may be another resource's output: an input, not plain.
	types, _ := schema["types"].(map[string]any)
	runner, _ := types[providerPackage+":index:RunnerSettings"].(map[string]any)
	require.NotNil(t, runner, "the schema has the runner settings type")
	groupID, _ := runner["properties"].(map[string]any)["groupId"].(map[string]any)
	assert.Equal(t, "integer", groupID["type"])
	assert.NotEqual(t, true, groupID["plain"], "runner.groupId accepts an output")

	var example struct {
		Packages map[string]string `yaml:"packages"`
	}
	data, err := os.ReadFile(filepath.Join(h.root, "examples", "yaml", "Pulumi.yaml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(data, &example))
	assert.Equal(t, providerPackage+"@"+schema["version"].(string), example.Packages[providerPackage],
		"examples/yaml pins the version the provider reports")
}

// preview, up, a no-op preview and destroy of the YAML program, with the
// CLI, the YAML language host and the provider plugin.
func TestPulumiYamlLifecycle(t *testing.T) {
	const name = "yaml-builds"
	p := newYamlProgram(t, "yaml-life", nil)

	steps := p.previewSteps(t)
	want := map[string]string{}
	for _, r := range fleetResources(name) {
		want[r] = "create"
	}
	delete(want, "gitlab-runner-fleet:index:RunnerFleet "+name)
	want["gitlab-runner-fleet:index:RunnerFleet builds"] = "create"
	for r, op := range want {
		assert.Equal(t, op, steps[r], "preview plans %s", r)
	}

	p.mustRun(t, "up", "--yes", "--skip-preview", "--non-interactive")
	waitReady(t, "gitlab-runner-"+name, name)
	var outputs map[string]string
	require.NoError(t, json.Unmarshal([]byte(p.mustRun(t, "stack", "output", "--json")), &outputs))
	assert.Equal(t, "gitlab-runner-"+name, outputs["namespace"])
	assert.Equal(t, "gitlab-runner-"+name+"-jobs", outputs["jobNamespace"])
	assert.Equal(t, name, outputs["statefulSet"])
	runner := gitlabRunner(t, outputs["runnerId"])
	assert.Equal(t, "group_type", runner.RunnerType)
	assert.Equal(t, []string{"yaml"}, runner.TagList)

	// The same program again plans nothing.
	for r, op := range p.previewSteps(t) {
		// The one read, of the kubernetes Service's cluster IPs (which the
		// fleet's NetworkPolicies keep jobs from), looks at the cluster and
		// changes nothing.
		if op == "read" && strings.HasPrefix(r, "kubernetes:core/v1:Service ") {
			continue
		}
		assert.Equal(t, "same", op, "a second preview changes nothing: %s", r)
	}

	p.mustRun(t, "destroy", "--yes", "--non-interactive")
	out, _ := h.kubectl(t, "get", "statefulsets,secrets,configmaps", "-n", "gitlab-runner-"+name, "-l", "app.kubernetes.io/instance="+name, "-o", "name")
	assert.Empty(t, strings.TrimSpace(out), "objects left after destroy")
	status, _ := h.gitlab(t, http.MethodGet, "runners/"+outputs["runnerId"], nil)
	assert.Equal(t, http.StatusNotFound, status, "the runner is gone from GitLab")
}

// Mistakes in the YAML program's settings: a misspelt key is refused by
// the YAML type checker, from the package's schema (made from the settings
// types); a value no type can refuse is refused by the provider with the
// program's own check, naming the setting and the fix. Nothing is created.
func TestPulumiYamlBadSettings(t *testing.T) {
	typo := newYamlProgram(t, "yaml-typo", func(program string) string {
		return strings.Replace(program, "replicas: 1", "replica: 1", 1)
	})
	out, err := typo.run("preview", "--non-interactive")
	require.Error(t, err, "a preview with a misspelt setting fails:\n%s", out)
	assert.Contains(t, out, "Property replica does not exist on 'gitlab-runner-fleet:index:ManagerSettings'")
	assert.Contains(t, out, "Existing properties are: replicas")

	bad := newYamlProgram(t, "yaml-bad", func(program string) string {
		program = strings.Replace(program, "replicas: 1", "replicas: 99", 1)
		return strings.Replace(program, "tags: [yaml]", "tags: [yaml, yaml]", 1)
	})
	out, err = bad.run("preview", "--non-interactive")
	require.Error(t, err, "a preview with bad values fails:\n%s", out)
	assert.Contains(t, out, `RunnerFleet "builds": invalid arguments (2 problem(s)); nothing was created`)
	assert.Contains(t, out, "manager.replicas: must be between 0 and 50, got 99")
	assert.Contains(t, out, "runner.tags")

	out, err = bad.run("up", "--yes", "--skip-preview", "--non-interactive")
	require.Error(t, err, out)
	stack := bad.mustRun(t, "stack", "export")
	assert.NotContains(t, stack, "gitlab:index/userRunner:UserRunner", "no runner was created")
	assert.NotContains(t, stack, "kubernetes:", "no Kubernetes object was created")
}

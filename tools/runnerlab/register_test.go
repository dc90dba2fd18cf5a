package runnerlab_test

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/runnerconfig"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
	"github.com/glrf/gitlab-runner-fleet/tools/gitlab"
)

// Every fleet's rendered configuration, registered by the runner's own
// `register` as the entrypoint runs it (against the GitLab stand-in, the
// token in CI_SERVER_TOKEN, the template given with --template-config),
// keeps every key of the template with its value (register silently drops
// keys it does not know), and the config.toml it writes passes the runner's
// own `lint` (decoding, its JSON schema, no unknown key).
func TestRegisterKeepsEveryKeyAndLintAcceptsTheConfig(t *testing.T) {
	const admin = adminToken
	srv := httptest.NewServer(gitlabStandIn(t))
	t.Cleanup(srv.Close)
	fleets := everyFleet(t)
	for name, s := range jobPodFleets() {
		fleets["pod settings/"+name] = s
	}
	for name, s := range fleets {
		t.Run(name, func(t *testing.T) {
			global, err := runnerconfig.RenderGlobalConfig(s)
			require.NoError(t, err)
			template, err := runnerconfig.RenderRunnerTemplate(s)
			require.NoError(t, err)
			config, written := register(t, srv.URL, admin, global, template)
			assert.Empty(t, changedByRegister(t, template, written))
			out, code := runRunner(t, nil, "lint", "--config", config)
			assert.Equal(t, 0, code, out)
			assert.Contains(t, out, "Configuration file is valid.")
		})
	}
	// The session server's globals, with the pod's name put in as the
	// entrypoint puts it: register keeps them and lint accepts them.
	t.Run("session server", func(t *testing.T) {
		s := settings.FleetSettings{Name: "builds", Runner: settings.RunnerSettings{Type: "instance_type"},
			Manager: settings.ManagerSettings{Pod: settings.ManagerPodSettings{SessionServer: &settings.SessionServerSettings{}}}}.WithDefaults("lab")
		global, err := runnerconfig.RenderGlobalConfig(s)
		require.NoError(t, err)
		global = strings.ReplaceAll(global, settings.PodNamePlaceholder, "builds-0")
		template, err := runnerconfig.RenderRunnerTemplate(s)
		require.NoError(t, err)
		config, written := register(t, srv.URL, admin, global, template)
		var doc struct {
			SessionServer map[string]any `toml:"session_server"`
		}
		_, err = toml.Decode(written, &doc)
		require.NoError(t, err)
		assert.Equal(t, map[string]any{"listen_address": "[::]:8093", "advertise_address": "builds-0.builds.gitlab-runner-builds.svc:8093", "session_timeout": int64(1800)},
			doc.SessionServer)
		out, code := runRunner(t, nil, "lint", "--config", config)
		assert.Equal(t, 0, code, out)
	})
	// The comparison sees what register drops: a key of the template it does
	// not know (a misspelt one here).
	t.Run("control: a key register does not know", func(t *testing.T) {
		template := "[[runners]]\n  executor = \"kubernetes\"\n  [runners.kubernetes]\n    namespace = \"jobs\"\n    poll_timout = 180\n"
		_, written := register(t, srv.URL, admin, "concurrent = 1\n", template)
		assert.Equal(t, []string{"kubernetes.poll_timout dropped"}, changedByRegister(t, template, written))
	})
}

// register runs the runner's `register` as the entrypoint does: the global
// config.toml copied into place, the token in CI_SERVER_TOKEN, the template
// given with --template-config. It returns config.toml's path and text.
func register(t *testing.T, base, admin, global, template string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	config, templatePath := filepath.Join(dir, "config.toml"), filepath.Join(dir, "runner-template.toml")
	require.NoError(t, os.WriteFile(config, []byte(global), 0o600))
	require.NoError(t, os.WriteFile(templatePath, []byte(template), 0o600))
	out, code := runRunner(t, []string{"CI_SERVER_TOKEN=" + createRunner(t, base, admin)},
		"register", "--non-interactive", "--url", base, "--executor", "kubernetes", "--name", testManager,
		"--config", config, "--template-config", templatePath)
	require.Equal(t, 0, code, out)
	written, err := os.ReadFile(config)
	require.NoError(t, err)
	return config, string(written)
}

// changedByRegister lists the template's keys that the [[runners]] entry
// register wrote dropped or changed.
func changedByRegister(t *testing.T, template, written string) []string {
	t.Helper()
	registered := leaves(runnersEntry(t, written), "")
	var out []string
	for path, value := range leaves(runnersEntry(t, template), "") {
		got, kept := registered[path]
		switch {
		case !kept:
			out = append(out, path+" dropped")
		case !assert.ObjectsAreEqual(value, got):
			out = append(out, fmt.Sprintf("%s changed from %v to %v", path, value, got))
		}
	}
	slices.Sort(out)
	return out
}

// adminToken is the stand-in's administrator token in these tests.
const adminToken = "glpat-runnerlab-admin-token"

// gitlabStandIn is a GitLab stand-in that knows adminToken, closed when the
// test ends.
func gitlabStandIn(t *testing.T) *gitlab.Server {
	t.Helper()
	server, err := gitlab.New(gitlab.Config{Tokens: []gitlab.PersonalAccessToken{{Name: "runnerlab", Token: adminToken, Scopes: []string{"api"}}}})
	require.NoError(t, err)
	t.Cleanup(server.Close)
	return server
}

// createRunner creates an instance runner in the stand-in and returns its
// token.
func createRunner(t *testing.T, base, admin string) string {
	t.Helper()
	_, token := createRunnerWithID(t, base, admin)
	require.True(t, strings.HasPrefix(token, "glrt-"), token)
	return token
}

// runnersEntry is the first [[runners]] entry of a TOML document.
func runnersEntry(t *testing.T, text string) map[string]any {
	t.Helper()
	var doc map[string]any
	_, err := toml.Decode(text, &doc)
	require.NoError(t, err)
	runners, ok := doc["runners"].([]map[string]any)
	require.True(t, ok && len(runners) == 1, "one [[runners]] entry in:\n%s", text)
	return runners[0]
}

// leaves flattens a TOML table into its key paths (arrays of tables by
// index) and their values.
func leaves(table map[string]any, prefix string) map[string]any {
	out := map[string]any{}
	for key, value := range table {
		path := strings.TrimPrefix(prefix+"."+key, ".")
		switch v := value.(type) {
		case map[string]any:
			for p, leaf := range leaves(v, path) {
				out[p] = leaf
			}
		case []map[string]any:
			for i, item := range v {
				for p, leaf := range leaves(item, path+"["+strconv.Itoa(i)+"]") {
					out[p] = leaf
				}
			}
		default:
			out[path] = value
		}
	}
	return out
}

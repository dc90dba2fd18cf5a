package reference

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/glrf/gitlab-runner-fleet/components/plan"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

const root = "../../.."

func build(t *testing.T) *Model {
	t.Helper()
	m, err := Build("..", filepath.Join(root, "Pulumi.yaml"))
	require.NoError(t, err)
	return m
}

// The committed reference and schema are what the generator writes from
// today's types: a setting added, renamed or re-documented without
// regenerating fails here.
func TestCommittedFilesAreGenerated(t *testing.T) {
	m := build(t)
	schema, err := m.Schema()
	require.NoError(t, err)
	descriptions, err := m.DescriptionsJSON()
	require.NoError(t, err)
	for path, want := range map[string][]byte{MarkdownFile: m.Markdown(), SchemaFile: schema, DescriptionsFile: descriptions} {
		got, err := os.ReadFile(filepath.Join(root, path))
		require.NoError(t, err, "run `go generate ./components/settings/reference`")
		assert.Equal(t, string(want), string(got), "%s is not what the settings' types give: run `go generate ./components/settings/reference`", path)
	}
}

// compile is the committed schema, compiled by an independent validator.
func compile(t *testing.T) *jsonschema.Schema {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, SchemaFile))
	require.NoError(t, err)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	require.NoError(t, c.AddResource("stack.schema.json", doc))
	schema, err := c.Compile("stack.schema.json")
	require.NoError(t, err)
	return schema
}

// asJSON is a YAML document as the validator reads JSON.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	require.NoError(t, err)
	return out
}

func readStackFile(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(data, &doc))
	return doc
}

// Every committed stack file passes the schema, its fleets included: the
// schema accepts what the program runs.
func TestSchemaAcceptsEveryCommittedStackFile(t *testing.T) {
	schema := compile(t)
	files, err := filepath.Glob(filepath.Join(root, "Pulumi.*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			doc := readStackFile(t, file)
			config, _ := doc["config"].(map[string]any)
			require.NotEmpty(t, config[Project+":fleets"], "the stack file has fleets for the schema to check")
			assert.NoError(t, schema.Validate(asJSON(t, doc)))
		})
	}
}

// The mistakes the decoder refuses, the schema refuses too, so an editor
// marks them before any preview.
func TestSchemaRefusesWhatTheDecoderRefuses(t *testing.T) {
	schema := compile(t)
	valid := func() map[string]any {
		doc := readStackFile(t, filepath.Join(root, "Pulumi.production.yaml"))
		return doc
	}
	fleetOf := func(doc map[string]any) map[string]any {
		return doc["config"].(map[string]any)[Project+":fleets"].([]any)[0].(map[string]any)
	}
	section := func(f map[string]any, key string) map[string]any {
		if f[key] == nil {
			f[key] = map[string]any{}
		}
		return f[key].(map[string]any)
	}
	cases := map[string]func(f map[string]any){
		"a misspelt key":           func(f map[string]any) { section(f, "manager")["replica"] = 3 },
		"a misspelt top-level key": func(f map[string]any) { f["namespce"] = "ci" },
		"a number as text":         func(f map[string]any) { section(f, "manager")["replicas"] = "two" },
		"a value not allowed":      func(f map[string]any) { section(f, "manager")["logLevel"] = "loud" },
		"a list item not allowed":  func(f map[string]any) { section(f, "executor")["pullPolicy"] = []any{"sometimes"} },
		"a list as a string":       func(f map[string]any) { section(f, "runner")["tags"] = "docker" },
		"a fleet without a name":   func(f map[string]any) { delete(f, "name") },
		"a key of a list item": func(f map[string]any) {
			section(f, "executor")["tolerations"] = []any{map[string]any{"key": "dind", "efect": "NoSchedule"}}
		},
	}
	doc := valid()
	require.NoError(t, schema.Validate(asJSON(t, doc)), "the unchanged stack file passes")
	require.Empty(t, decoded(t, doc), "the unchanged stack file passes the decoder")
	for name, mistake := range cases {
		t.Run(name, func(t *testing.T) {
			doc := valid()
			mistake(fleetOf(doc))
			assert.NotEmpty(t, decoded(t, doc), "the decoder refuses it")
			assert.Error(t, schema.Validate(asJSON(t, doc)), "the schema refuses it")
		})
	}
}

// decoded are the problems the program's decoder and checks find in a stack
// file's fleets.
func decoded(t *testing.T, doc map[string]any) settings.Problems {
	t.Helper()
	raw, err := json.Marshal(doc["config"].(map[string]any)[Project+":fleets"])
	require.NoError(t, err)
	_, ps := plan.Fleets(string(raw), "test")
	return ps
}

// A default that depends on other settings is not shown as one (the
// description says what it depends on); one that holds whatever they are
// is, with the value WithDefaults gives.
func TestDefaultsAreTheOnesThatHoldForEveryFleet(t *testing.T) {
	m := build(t)
	fleet := find(t, m, "fleets").Item
	for path, want := range map[string]any{
		"manager.replicas":             float64(settings.DefaultReplicas),
		"manager.image":                settings.DefaultManagerImage,
		"executor.pollTimeout":         float64(settings.DefaultPollTimeout),
		"executor.build.cpuRequest":    "500m",
		"manager.resources.cpuRequest": "100m",
		"tokenSecret.key":              settings.DefaultTokenKey,
		"runner.accessLevel":           "not_protected",
		"network.policies":             true,
	} {
		assert.Equal(t, want, field(t, fleet, path).Default, path)
	}
	for _, path := range []string{
		"namespace",                               // from the name
		"runner.description",                      // from the name and the stack
		"runner.untagged",                         // from the tags
		"manager.terminationGracePeriodSeconds",   // from the job timeout
		"executor.pullPolicy",                     // from the runner type
		"executor.podSecurity",                    // from privileged
		"executor.runAsNonRoot",                   // from the level
		"executor.printPodWarningEvents",          // from the runner release
		"manager.resources.ephemeralStorageLimit", // none
	} {
		assert.Nil(t, field(t, fleet, path).Default, path)
	}
}

// A setting without a description stops the generator, naming it.
func TestUndocumentedSettingsAreRefused(t *testing.T) {
	dir := t.TempDir()
	files, err := filepath.Glob("../*.go")
	require.NoError(t, err)
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		text := strings.Replace(string(data), "\t// Replicas of the manager (each one polls GitLab for jobs).\n", "", 1)
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(file)), []byte(text), 0o644))
	}
	_, err = Build(dir, filepath.Join(root, "Pulumi.yaml"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ManagerSettings.Replicas")
}

func find(t *testing.T, m *Model, key string) *Setting {
	t.Helper()
	for _, s := range m.Stack {
		if s.Key == key {
			return s
		}
	}
	t.Fatalf("no stack setting %s", key)
	return nil
}

func field(t *testing.T, s *Setting, path string) *Setting {
	t.Helper()
	for _, key := range strings.Split(path, ".") {
		var next *Setting
		for _, f := range s.Fields {
			if f.Key == key {
				next = f
			}
		}
		require.NotNil(t, next, "%s: no %s", path, key)
		s = next
	}
	return s
}

// A field's Go name reads as its key, except where an article makes it a
// kind of object; a field without a comment takes the one before that
// names it.
func TestDescriptionsReadAsKeys(t *testing.T) {
	keys := map[string]string{"Secret": "secret", "ConfigMap": "configMap", "PVC": "pvc"}
	assert.Equal(t, "`secret` is an existing Secret in the managers' namespace",
		userText("Secret is an existing Secret in the managers' namespace", keys))
	assert.Equal(t, "`configMap`, `secret` and `pvc` name an existing object",
		userText("ConfigMap, Secret and PVC name an existing object", keys))

	m := build(t)
	volume := find(t, m, "fleets").Item
	for _, f := range field(t, volume, "executor").Fields {
		if f.Key == "volumes" {
			volume = f.Item
		}
	}
	assert.Equal(t, field(t, volume, "configMap").Description, field(t, volume, "pvc").Description, "pvc shares the comment that names it")
}

package gitlab

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The declaration must match the published schema exactly, so that the
// official SDK can replace this package: testdata holds the schema excerpt of
// pulumi-gitlab 8.11.0.
func TestUserRunnerMatchesThePublishedSchema(t *testing.T) {
	data, err := os.ReadFile("testdata/pulumi-gitlab-8.11.0-runner-schema.json")
	require.NoError(t, err)
	var schema struct {
		Version   string `json:"version"`
		Resources map[string]struct {
			Properties      map[string]map[string]any `json:"properties"`
			InputProperties map[string]map[string]any `json:"inputProperties"`
			RequiredInputs  []string                  `json:"requiredInputs"`
		} `json:"resources"`
	}
	require.NoError(t, json.Unmarshal(data, &schema))
	assert.Equal(t, PluginVersion, schema.Version)
	res, ok := schema.Resources[UserRunnerType]
	require.True(t, ok, "the type token %s is in the schema", UserRunnerType)

	// Inputs: every schema input is a field of the wire struct with its type.
	inputs := pulumiFields(reflect.TypeOf(userRunnerArgs{}))
	assert.Len(t, inputs, len(res.InputProperties))
	for name, prop := range res.InputProperties {
		field, ok := inputs[name]
		if assert.True(t, ok, "input %s declared", name) {
			assert.Equal(t, schemaType(prop), goKind(field), "type of input %s", name)
		}
	}
	assert.Equal(t, []string{"runnerType"}, res.RequiredInputs)
	assert.Equal(t, reflect.String, inputs["runnerType"].Kind(), "the required input is not optional")

	// Outputs: every schema property is an output of the resource.
	outputs := pulumiFields(reflect.TypeOf(UserRunner{}))
	assert.Len(t, outputs, len(res.Properties))
	for name, prop := range res.Properties {
		field, ok := outputs[name]
		if assert.True(t, ok, "output %s declared", name) {
			assert.Equal(t, schemaType(prop), outputKind(field), "type of output %s", name)
		}
	}
	assert.Equal(t, true, res.Properties["token"]["secret"], "the schema marks the token secret")

	// Args mirror the official SDK's Go names: the wire fields, capitalised.
	args := reflect.TypeOf(UserRunnerArgs{})
	for _, f := range reflect.VisibleFields(reflect.TypeOf(userRunnerArgs{})) {
		_, ok := args.FieldByName(f.Name)
		assert.True(t, ok, "UserRunnerArgs.%s", f.Name)
	}
}

// pulumiFields maps the pulumi tags of t's own fields (not the embedded
// resource state's urn and id) to their types.
func pulumiFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if tag := f.Tag.Get("pulumi"); tag != "" && !f.Anonymous {
			out[tag] = f.Type
		}
	}
	return out
}

func schemaType(prop map[string]any) string {
	typ, _ := prop["type"].(string)
	if typ == "array" {
		items, _ := prop["items"].(map[string]any)
		return "array of " + items["type"].(string)
	}
	return typ
}

// goKind names a wire field's type as the schema does.
func goKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Int:
		return "integer"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice:
		return "array of " + goKind(t.Elem())
	}
	return t.String()
}

// outputKind names an output's type (pulumi.StringOutput, IntPtrOutput...) as the schema does.
func outputKind(t reflect.Type) string {
	name := strings.TrimSuffix(strings.TrimSuffix(t.Name(), "Output"), "Ptr")
	switch name {
	case "String":
		return "string"
	case "Int":
		return "integer"
	case "Bool":
		return "boolean"
	case "StringArray":
		return "array of string"
	}
	return t.Name()
}

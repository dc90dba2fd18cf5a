package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
	"github.com/glrf/gitlab-runner-fleet/components/settings/reference"
)

func packageSchema(t *testing.T) (schema.PackageSpec, map[string]any) {
	t.Helper()
	text, err := Schema()
	require.NoError(t, err)
	var spec schema.PackageSpec
	require.NoError(t, json.Unmarshal([]byte(text), &spec))
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(text), &raw))
	return spec, raw
}

// The schema is a valid Pulumi package: the engine's own binder, which
// `pulumi package add` and SDK generation use, finds nothing wrong.
func TestSchemaIsAValidPackage(t *testing.T) {
	spec, _ := packageSchema(t)
	pkg, diags, err := schema.BindSpec(spec, noPackages{}, schema.ValidationOptions{})
	require.NoError(t, err)
	require.False(t, diags.HasErrors(), "%v", diags)
	fleet, ok := pkg.GetResource("gitlab-runner-fleet:index:RunnerFleet")
	require.True(t, ok)
	assert.True(t, fleet.IsComponent)
}

// Every setting the decoder reads is a property of the component, at the
// same path, with the same type; only the composable ones take outputs.
// The walk here reads the json tags itself, not through settings.Fields,
// so a generator that skipped or mistyped a setting fails it.
func TestSchemaHasEverySettingOfTheDecoder(t *testing.T) {
	_, raw := packageSchema(t)
	resource := raw["resources"].(map[string]any)["gitlab-runner-fleet:index:RunnerFleet"].(map[string]any)
	types := raw["types"].(map[string]any)
	inputs := resource["inputProperties"].(map[string]any)
	checked := 0
	var walk func(t *testing.T, goType reflect.Type, props map[string]any, path string)
	walk = func(t *testing.T, goType reflect.Type, props map[string]any, path string) {
		for i := range goType.NumField() {
			f := goType.Field(i)
			key, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if key == "" || key == "-" || (path == "" && key == "cluster") {
				continue
			}
			at := strings.TrimPrefix(path+"."+key, ".")
			prop, ok := props[key].(map[string]any)
			if !assert.True(t, ok, "%s is a property", at) {
				continue
			}
			checked++
			assert.Equal(t, !composable[at], prop["plain"] == true, "%s: plain unless composable", at)
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch ft.Kind() {
			case reflect.String:
				assert.Equal(t, "string", prop["type"], at)
			case reflect.Bool:
				assert.Equal(t, "boolean", prop["type"], at)
			case reflect.Int, reflect.Int64:
				assert.Equal(t, "integer", prop["type"], at)
			case reflect.Slice:
				assert.Equal(t, "array", prop["type"], at)
			case reflect.Map:
				assert.Equal(t, "object", prop["type"], at)
			case reflect.Struct:
				ref, _ := prop["$ref"].(string)
				object, ok := types[strings.TrimPrefix(ref, "#/types/")].(map[string]any)
				if assert.True(t, ok, "%s refers to an object type: %q", at, ref) {
					nested, _ := object["properties"].(map[string]any)
					walk(t, ft, nested, at)
				}
			default:
				t.Errorf("%s: a setting of Go type %s", at, ft)
			}
		}
		assert.Len(t, props, countKeys(goType, path), "%s: no property the decoder does not read", path)
	}
	walk(t, reflect.TypeFor[settings.FleetSettings](), inputs, "")
	assert.Greater(t, checked, 100, "the walk reached the nested settings")
	assert.Contains(t, inputs, gitlabURLInput)
	assert.Contains(t, inputs, apiServerInput)
	assert.NotContains(t, inputs, "cluster", "a component runs with its program's Kubernetes provider")
}

// countKeys is the number of properties a settings object has in the
// schema: its JSON keys, plus the component's own inputs at the top.
func countKeys(t reflect.Type, path string) int {
	n := 0
	for i := range t.NumField() {
		key, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if key != "" && key != "-" {
			n++
		}
	}
	if path == "" {
		n += 2 - 1 // gitlabUrl and apiServer, not cluster
	}
	return n
}

// The outputs are the component's registered outputs.
func TestSchemaOutputs(t *testing.T) {
	_, raw := packageSchema(t)
	resource := raw["resources"].(map[string]any)["gitlab-runner-fleet:index:RunnerFleet"].(map[string]any)
	assert.ElementsMatch(t, []any{"namespace", "jobNamespace", "statefulSetName", "runnerId", "tokenRotatesAfter"}, resource["required"])
}

// noPackages loads no other package: the schema refers to none.
type noPackages struct{}

func (noPackages) LoadPackage(pkg string, _ *semver.Version) (*schema.Package, error) {
	return nil, fmt.Errorf("the schema refers to package %s", pkg)
}

func (noPackages) LoadPackageV2(_ context.Context, d *schema.PackageDescriptor) (*schema.Package, error) {
	return nil, fmt.Errorf("the schema refers to package %s", d.Name)
}

// The schema's descriptions are the settings' doc comments (package
// reference's test keeps the committed ones current), the Go field's name
// replaced by the setting's key.
func TestSchemaDescribesSettingsByTheirDocs(t *testing.T) {
	docs, err := reference.Descriptions()
	require.NoError(t, err)
	require.NotEmpty(t, docs["RunnerSettings.GroupID"])
	_, raw := packageSchema(t)
	runner := raw["types"].(map[string]any)["gitlab-runner-fleet:index:RunnerSettings"].(map[string]any)
	groupID := runner["properties"].(map[string]any)["groupId"].(map[string]any)
	assert.Equal(t, docs["RunnerSettings.GroupID"][len("GroupID"):], strings.TrimPrefix(groupID["description"].(string), "groupId"))
}

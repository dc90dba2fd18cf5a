package gitlabprovider

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/emptypb"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// referenceSchema is the official schema excerpt (pulumi-gitlab 8.11.0),
// kept with the program's own declaration of the resource.
const referenceSchema = "testdata/pulumi-gitlab-8.11.0-runner-schema.json"

type schemaDoc struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Config  struct {
		Variables map[string]map[string]any `json:"variables"`
	} `json:"config"`
	Provider  map[string]any `json:"provider"`
	Resources map[string]struct {
		Properties      map[string]map[string]any `json:"properties"`
		InputProperties map[string]map[string]any `json:"inputProperties"`
		Required        []string                  `json:"required"`
		RequiredInputs  []string                  `json:"requiredInputs"`
	} `json:"resources"`
}

func TestSchema(t *testing.T) {
	res, err := newTestProvider().GetSchema(t.Context(), &pulumirpc.GetSchemaRequest{})
	require.NoError(t, err)
	var got schemaDoc
	require.NoError(t, json.Unmarshal([]byte(res.Schema), &got))
	assert.Equal(t, "gitlab", got.Name)
	assert.Equal(t, SchemaVersion, got.Version)
	require.Len(t, got.Resources, 1)
	ur := got.Resources[UserRunnerType]
	assert.ElementsMatch(t, inputKeys, keys(ur.InputProperties), "the code and the schema agree on the inputs")
	assert.ElementsMatch(t, append(append([]string{}, inputKeys...), pToken), keys(ur.Properties))
	assert.ElementsMatch(t, configKeys, keys(got.Config.Variables))
	assert.Equal(t, true, ur.Properties[pToken]["secret"])
	assert.Equal(t, true, got.Config.Variables["token"]["secret"])

	data, err := os.ReadFile(filepath.FromSlash(referenceSchema))
	require.NoError(t, err)
	var ref schemaDoc
	require.NoError(t, json.Unmarshal(data, &ref))
	refUR := ref.Resources[UserRunnerType]
	assert.Equal(t, ref.Version, got.Version)
	assert.Equal(t, refUR.Properties, ur.Properties, "UserRunner outputs match the official schema")
	assert.Equal(t, refUR.InputProperties, ur.InputProperties, "UserRunner inputs match the official schema")
	assert.ElementsMatch(t, refUR.Required, ur.Required)
	assert.ElementsMatch(t, refUR.RequiredInputs, ur.RequiredInputs)
	assert.Equal(t, ref.Config.Variables, got.Config.Variables, "provider configuration matches the official schema")
	assert.Equal(t, ref.Provider, got.Provider)
}

func TestGetPluginInfo(t *testing.T) {
	info, err := New(nil, testVersion).GetPluginInfo(t.Context(), &emptypb.Empty{})
	require.NoError(t, err)
	assert.Equal(t, "8.11.0+offline.standin", info.Version)
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

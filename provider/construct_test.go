package provider

import (
	"sync"
	"testing"

	"github.com/blang/semver"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/integration"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// registrations records what a construct registers, answering like a
// provider would: inputs become outputs, a UserRunner gets an id and a
// token.
type registrations struct {
	mu   sync.Mutex
	list []integration.MockResourceArgs
}

func (r *registrations) monitor() *integration.MockResourceMonitor {
	return &integration.MockResourceMonitor{NewResourceF: func(args integration.MockResourceArgs) (string, property.Map, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.list = append(r.list, args)
		id, outputs := args.Name+"-id", args.Inputs
		if args.TypeToken == "gitlab:index/userRunner:UserRunner" {
			// Known even in a preview: the mocks' monitor cannot pass an
			// unknown secret on (the engine can).
			id, outputs = "1001", outputs.Set("token", property.New("glrt-mock").WithSecret(true))
		}
		return id, outputs, nil
	}}
}

func (r *registrations) find(typ, name string) (integration.MockResourceArgs, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.list {
		if string(a.TypeToken) == typ && a.Name == name {
			return a, true
		}
	}
	return integration.MockResourceArgs{}, false
}

// constructFleet constructs a RunnerFleet named builds from inputs, as the
// engine asks the plugin to for a program in another language.
func constructFleet(t *testing.T, preview bool, inputs map[string]property.Value) (*registrations, p.ConstructResponse, error) {
	t.Helper()
	return constructWithConfig(t, preview, inputs, nil, nil)
}

// constructWithConfig constructs with more settings in the calling stack's
// config (key "project:name") and the keys of those that are secret.
func constructWithConfig(t *testing.T, preview bool, inputs map[string]property.Value, stackConfig map[string]string, secret []string) (*registrations, p.ConstructResponse, error) {
	t.Helper()
	cfg := map[config.Key]string{config.MustMakeKey("gitlab", "baseUrl"): "https://gitlab.example.com/api/v4/"}
	for k, v := range stackConfig {
		cfg[config.MustParseKey(k)] = v
	}
	var secretKeys []config.Key
	for _, k := range secret {
		secretKeys = append(secretKeys, config.MustParseKey(k))
	}
	prov, err := New()
	require.NoError(t, err)
	r := &registrations{}
	server, err := integration.NewServer(t.Context(), Name, semver.MustParse(Version),
		integration.WithProvider(prov), integration.WithMocks(r.monitor()))
	require.NoError(t, err)
	resp, err := server.Construct(p.ConstructRequest{
		Urn:              resource.NewURN("test", "yaml-program", "", "gitlab-runner-fleet:index:RunnerFleet", "builds"),
		DryRun:           preview,
		Config:           cfg,
		ConfigSecretKeys: secretKeys,
		Inputs:           property.NewMap(inputs),
	})
	return r, resp, err
}

func object(m map[string]property.Value) property.Value { return property.New(property.NewMap(m)) }

// runner is a group runner's settings, with groupId as given.
func runner(groupID property.Value) property.Value {
	return object(map[string]property.Value{
		"type":    property.New("group_type"),
		"groupId": groupID,
		"tags":    property.New(property.NewArray([]property.Value{property.New("docker")})),
	})
}

var apiServer = object(map[string]property.Value{
	"cidrs": property.New(property.NewArray([]property.Value{property.New("10.0.0.1/32")})),
	"port":  property.New(6443.0),
})

// A fleet constructed for another language is the Go component's: the
// settings decoded and completed, the runner in its group, the objects
// in their namespaces, GitLab's address from the stack's gitlab:baseUrl.
func TestConstructRegistersTheFleet(t *testing.T) {
	r, resp, err := constructFleet(t, false, map[string]property.Value{
		"runner":    runner(property.New(42.0)),
		"manager":   object(map[string]property.Value{"replicas": property.New(1.0)}),
		"apiServer": apiServer,
	})
	require.NoError(t, err)
	userRunner, ok := r.find("gitlab:index/userRunner:UserRunner", "builds")
	require.True(t, ok, "the runner is registered")
	assert.Equal(t, 42.0, userRunner.Inputs.Get("groupId").AsNumber())
	assert.Equal(t, "builds (test)", userRunner.Inputs.Get("description").AsString(), "defaults filled in")
	sts, ok := r.find("kubernetes:apps/v1:StatefulSet", "builds")
	require.True(t, ok)
	assert.Equal(t, 1.0, sts.Inputs.Get("spec").AsMap().Get("replicas").AsNumber())
	assert.Contains(t, sts.Inputs.Get("spec").GoString(), "https://gitlab.example.com/", "GitLab's address from gitlab:baseUrl")
	assert.Equal(t, "gitlab-runner-builds", resp.State.Get("namespace").AsString())
	assert.Equal(t, "1001", resp.State.Get("runnerId").AsString())
}

// A group id that is another resource's output, unknown in a preview,
// reaches the UserRunner unknown; the rest of the fleet is previewed.
func TestConstructWithAGroupIDNotKnownYet(t *testing.T) {
	r, _, err := constructFleet(t, true, map[string]property.Value{
		"runner":    runner(property.New(property.Computed)),
		"apiServer": apiServer,
	})
	require.NoError(t, err)
	userRunner, ok := r.find("gitlab:index/userRunner:UserRunner", "builds")
	require.True(t, ok)
	assert.True(t, userRunner.Inputs.Get("groupId").IsComputed(), "groupId: %v", userRunner.Inputs.Get("groupId"))
	_, ok = r.find("kubernetes:apps/v1:StatefulSet", "builds")
	assert.True(t, ok, "the workload is previewed too")
}

// A cache bucket not known yet leaves the rendered configuration unknown
// in a preview; once known, it is rendered in.
func TestConstructWithACacheBucketNotKnownYet(t *testing.T) {
	cache := func(bucket property.Value) property.Value {
		return object(map[string]property.Value{
			"type":           property.New("s3"),
			"existingSecret": property.New("cache-keys"),
			"s3": object(map[string]property.Value{
				"serverAddress": property.New("minio.storage:9000"),
				"bucketName":    bucket,
			}),
		})
	}
	r, _, err := constructFleet(t, true, map[string]property.Value{
		"runner":    runner(property.New(42.0)),
		"cache":     cache(property.New(property.Computed)),
		"apiServer": apiServer,
	})
	require.NoError(t, err)
	config, ok := r.find("kubernetes:core/v1:ConfigMap", "builds-config")
	require.True(t, ok)
	assert.True(t, config.Inputs.Get("data").HasComputed(), "data: %v", config.Inputs.Get("data"))

	r, _, err = constructFleet(t, false, map[string]property.Value{
		"runner":    runner(property.New(42.0)),
		"cache":     cache(property.New("team-cache")),
		"apiServer": apiServer,
	})
	require.NoError(t, err)
	config, ok = r.find("kubernetes:core/v1:ConfigMap", "builds-config")
	require.True(t, ok)
	assert.Contains(t, config.Inputs.Get("data").AsMap().Get("runner-template.toml").AsString(), `BucketName = "team-cache"`)
}

// A setting that names a stack setting (tokenConfigKey) reads it from the
// stack of the program that uses the package, as the Go program reads its
// own: an existing token, so no runner is created; unset or in plain text,
// it is refused with the command that sets it.
func TestConstructReadsTheStackSettingsAFleetNames(t *testing.T) {
	inputs := map[string]property.Value{"tokenConfigKey": property.New("buildsToken"), "apiServer": apiServer}
	r, _, err := constructWithConfig(t, false, inputs,
		map[string]string{"yaml-program:buildsToken": "glrt-existing"}, []string{"yaml-program:buildsToken"})
	require.NoError(t, err)
	_, ok := r.find("gitlab:index/userRunner:UserRunner", "builds")
	assert.False(t, ok, "no runner is created for an existing token")
	secret, ok := r.find("kubernetes:core/v1:Secret", "builds-token")
	require.True(t, ok)
	data := secret.Inputs.Get("stringData")
	assert.True(t, data.Secret() || data.HasSecrets(), "the token stays secret: %v", data)
	assert.Equal(t, "glrt-existing", data.WithSecret(false).AsMap().Get("runner-token").WithSecret(false).AsString())

	r, _, err = constructWithConfig(t, false, inputs, nil, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "tokenConfigKey: names yaml-program:buildsToken, which is not set; run `pulumi config set --secret buildsToken <value>`")
	assert.Empty(t, r.list)

	_, _, err = constructWithConfig(t, false, inputs, map[string]string{"yaml-program:buildsToken": "glrt-existing"}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "which is stored in plain text")
}

// Inputs the settings decoder or the checks refuse are one error naming
// each setting, and nothing is registered.
func TestConstructRefusesBadInputs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		inputs map[string]property.Value
		want   []string
	}{
		{"a misspelt setting", map[string]property.Value{
			"runner":  runner(property.New(42.0)),
			"manager": object(map[string]property.Value{"replica": property.New(1.0)}),
		}, []string{`manager.replica: unknown setting (did you mean "replicas"?)`}},
		{"a wrong type", map[string]property.Value{
			"runner":  runner(property.New("forty-two")),
			"manager": object(map[string]property.Value{"replicas": property.New(1.5)}),
		}, []string{"runner.groupId: must be a whole number", "manager.replicas: must be a whole number"}},
		{"a check of the program", map[string]property.Value{
			"runner": object(map[string]property.Value{"type": property.New("group_type")}),
		}, []string{"runner.groupId: must be a positive GitLab group id for a group_type runner, got 0"}},
		{"an unknown value where a plain one is needed", map[string]property.Value{
			"runner":  runner(property.New(42.0)),
			"manager": object(map[string]property.Value{"image": property.New(property.Computed)}),
		}, []string{"manager.image: is not known until another resource exists; only cache.azure.containerName, cache.gcs.bucketName, cache.s3.bucketName, runner.groupId, runner.projectId may be outputs"}},
		{"a secret setting", map[string]property.Value{
			"runner": runner(property.New(42.0).WithSecret(true)),
		}, []string{"runner.groupId: is a secret"}},
		{"a cluster of the program", map[string]property.Value{
			"runner":  runner(property.New(42.0)),
			"cluster": property.New("east"),
		}, []string{"cluster: names a cluster of the program's stack settings"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _, err := constructFleet(t, true, tc.inputs)
			require.Error(t, err)
			for _, want := range tc.want {
				assert.Contains(t, err.Error(), want)
			}
			assert.Contains(t, err.Error(), "nothing was created")
			assert.Empty(t, r.list, "nothing registered")
		})
	}
}

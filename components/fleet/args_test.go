package fleet_test

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/pulumi/pulumi-gitlab/sdk/v8/go/gitlab"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/fleet"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
	"github.com/glrf/gitlab-runner-fleet/tests/mocks"
)

// runAlone registers one fleet the way another program would: its
// arguments straight from Go, no defaults, no plan.
func runAlone(t *testing.T, preview bool, args *fleet.RunnerFleetArgs) (*mocks.Mocks, error) {
	t.Helper()
	m := &mocks.Mocks{Preview: preview}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := fleet.NewRunnerFleet(ctx, "builds", args)
		return err
	}, pulumi.WithMocks("project", "stack", m), func(info *pulumi.RunInfo) { info.DryRun = preview })
	return m, err
}

// A fleet built alone from plain settings completes, checks and plans
// itself: the same objects as a fleet the program planned, the API
// server's addresses read from the cluster.
func TestFleetFromGoArgsPlansItself(t *testing.T) {
	m, err := runAlone(t, false, &fleet.RunnerFleetArgs{
		Settings:  settings.FleetSettings{Runner: settings.RunnerSettings{Type: "group_type", GroupID: 42}},
		GitlabURL: "https://gitlab.example.com/",
	})
	require.NoError(t, err)
	for _, want := range []struct{ typ, name string }{
		{tNamespace, "gitlab-runner-builds"}, {tNamespace, "gitlab-runner-builds-jobs"},
		{tUserRunner, "builds"}, {tStatefulSet, "builds"},
		{tQuota, "builds-jobs"}, {tSAPatch, "builds-jobs-default-sa"},
		{tNetworkPolicy, "builds-manager"}, {tNetworkPolicy, "builds-jobs"},
	} {
		assert.NotNil(t, m.Find(want.typ, want.name), "%s %s", want.typ, want.name)
	}
	runner := m.Find(tUserRunner, "builds")
	require.NotNil(t, runner)
	assert.Equal(t, 42.0, runner.Inputs["groupId"].NumberValue())
	assert.Equal(t, "builds (stack)", mocks.String(runner.Inputs, "description"), "defaults filled in")
	policy := m.Find(tNetworkPolicy, "builds-manager")
	require.NotNil(t, policy)
	assert.Contains(t, fmt.Sprint(policy.Inputs.Mappable()), mocks.MockAPIServerAddress+"/32", "the API server read from the cluster")
}

// Arguments a program gets wrong are one error listing every problem,
// naming the setting, and nothing is registered: no panic, no runner for
// group 0, no http:// URL to a remote GitLab.
func TestFleetFromGoArgsRefusesBadArguments(t *testing.T) {
	for _, tc := range []struct {
		name string
		args *fleet.RunnerFleetArgs
		want []string
	}{
		{"no arguments", nil, []string{`RunnerFleet "builds": no arguments`}},
		{"empty settings", &fleet.RunnerFleetArgs{}, []string{
			"runner.type: ", "GitlabURL: ",
		}},
		{"group 0 and plain http", &fleet.RunnerFleetArgs{
			Settings:  settings.FleetSettings{Runner: settings.RunnerSettings{Type: "group_type"}},
			GitlabURL: "http://gitlab.example.com/",
		}, []string{"runner.groupId: must be a positive GitLab group id", "GitlabURL: "}},
		{"group id twice", &fleet.RunnerFleetArgs{
			Settings:  settings.FleetSettings{Runner: settings.RunnerSettings{Type: "group_type", GroupID: 7}},
			GroupID:   pulumi.Int(8),
			GitlabURL: "https://gitlab.example.com/",
		}, []string{"runner.groupId: is given twice"}},
		{"a cluster of the program", &fleet.RunnerFleetArgs{
			Settings:  settings.FleetSettings{Cluster: "east", Runner: settings.RunnerSettings{Type: "instance_type"}},
			GitlabURL: "https://gitlab.example.com/",
		}, []string{"cluster: names a cluster of the program's stack settings"}},
		{"a token setting without the token", &fleet.RunnerFleetArgs{
			Settings:  settings.FleetSettings{TokenConfigKey: "buildsToken"},
			GitlabURL: "https://gitlab.example.com/",
		}, []string{"tokenConfigKey: names an existing runner token: pass its value as Token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := runAlone(t, true, tc.args)
			require.Error(t, err)
			for _, want := range tc.want {
				assert.Contains(t, err.Error(), want)
			}
			if tc.args != nil {
				assert.Contains(t, err.Error(), "nothing was created")
			}
			assert.Empty(t, m.All(), "nothing registered, not even the component")
		})
	}
}

// groupMocks give a gitlab.Group the numeric id GitLab would.
type groupMocks struct{ *mocks.Mocks }

func (m groupMocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	id, outputs, err := m.Mocks.NewResource(args)
	if args.TypeToken == "gitlab:index/group:Group" && !m.Preview {
		id = "77"
	}
	return id, outputs, err
}

// groupProgram makes a gitlab.Group and a fleet on it in one program.
func groupProgram(ctx *pulumi.Context) error {
	group, err := gitlab.NewGroup(ctx, "platform", &gitlab.GroupArgs{Name: pulumi.String("platform"), Path: pulumi.String("platform")})
	if err != nil {
		return err
	}
	_, err = fleet.NewRunnerFleet(ctx, "builds", &fleet.RunnerFleetArgs{
		Settings:  settings.FleetSettings{Runner: settings.RunnerSettings{Type: "group_type", Tags: []string{"docker"}}},
		GroupID:   group.ID().ApplyT(strconv.Atoi).(pulumi.IntOutput),
		GitlabURL: "https://gitlab.example.com/",
		APIServer: testAPIServer,
	})
	return err
}

// A group made in the same program: its id flows into the UserRunner, which
// depends on the group; in a preview the id is unknown and stays so.
func TestFleetGroupIDFromAnotherResource(t *testing.T) {
	m := groupMocks{&mocks.Mocks{}}
	require.NoError(t, pulumi.RunErr(groupProgram, pulumi.WithMocks("project", "stack", m)))
	runner := m.Find(tUserRunner, "builds")
	require.NotNil(t, runner)
	assert.Equal(t, 77.0, runner.Inputs["groupId"].NumberValue())
	assert.Contains(t, runner.Dependencies, "urn:pulumi:stack::project::gitlab:index/group:Group::platform", "the runner waits for the group")

	previewed, err := mocks.RunPreview(groupProgram, nil, nil)
	require.NoError(t, err)
	runner = previewed.Find(tUserRunner, "builds")
	require.NotNil(t, runner)
	assert.True(t, runner.Inputs["groupId"].IsComputed(), "unknown in a preview: %v", runner.Inputs["groupId"])
}

// An id given as an input is checked once known, like the setting.
func TestFleetGroupIDInputIsChecked(t *testing.T) {
	_, err := runAlone(t, false, &fleet.RunnerFleetArgs{
		Settings:  settings.FleetSettings{Runner: settings.RunnerSettings{Type: "group_type"}},
		GroupID:   pulumi.Int(-3).ToIntOutput(),
		GitlabURL: "https://gitlab.example.com/",
		APIServer: testAPIServer,
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "runner.groupId: must be a positive GitLab id, got -3")
}

// s3Cache is an S3 cache on a MinIO server, without its bucket.
func s3Cache() settings.CacheSettings {
	return settings.CacheSettings{Type: "s3", ExistingSecret: "cache-keys",
		S3: &settings.S3CacheSettings{ServerAddress: "minio.storage:9000", Insecure: true}}
}

// bucketProgram makes a fleet whose cache bucket is another resource's
// output (here a group's id, unknown in a preview like a new bucket's name).
func bucketProgram(ctx *pulumi.Context) error {
	group, err := gitlab.NewGroup(ctx, "platform", &gitlab.GroupArgs{Name: pulumi.String("platform"), Path: pulumi.String("platform")})
	if err != nil {
		return err
	}
	_, err = fleet.NewRunnerFleet(ctx, "builds", &fleet.RunnerFleetArgs{
		Settings:    settings.FleetSettings{Runner: settings.RunnerSettings{Type: "instance_type"}, Cache: s3Cache()},
		CacheBucket: group.ID().ApplyT(func(id string) string { return "team-cache-" + id }).(pulumi.StringOutput),
		GitlabURL:   "https://gitlab.example.com/",
		APIServer:   testAPIServer,
	})
	return err
}

// A bucket made by another resource reaches the rendered configuration
// once known, and the pods roll with it; in a preview it is unknown.
func TestFleetCacheBucketFromAnotherResource(t *testing.T) {
	m := groupMocks{&mocks.Mocks{}}
	require.NoError(t, pulumi.RunErr(bucketProgram, pulumi.WithMocks("project", "stack", m)))
	config := m.Find(tConfigMap, "builds-config")
	require.NotNil(t, config)
	template := mocks.String(config.Inputs, "data", "runner-template.toml")
	assert.Contains(t, template, `BucketName = "team-cache-77"`)
	assert.Contains(t, template, `ServerAddress = "minio.storage:9000"`)
	sts := m.Find(tStatefulSet, "builds")
	require.NotNil(t, sts)
	assert.Len(t, mocks.String(sts.Inputs, "spec", "template", "metadata", "annotations", "checksum/config"), 64)

	previewed, err := mocks.RunPreview(bucketProgram, nil, nil)
	require.NoError(t, err)
	config = previewed.Find(tConfigMap, "builds-config")
	require.NotNil(t, config)
	data, ok := mocks.Get(config.Inputs, "data")
	require.True(t, ok)
	assert.True(t, data.ContainsUnknowns(), "the template is unknown until the bucket is")
}

// A bucket given as an input needs a cache to go in, and only one name.
func TestFleetCacheBucketArguments(t *testing.T) {
	withBucket := func(cache settings.CacheSettings) *fleet.RunnerFleetArgs {
		return &fleet.RunnerFleetArgs{
			Settings:    settings.FleetSettings{Runner: settings.RunnerSettings{Type: "instance_type"}, Cache: cache},
			CacheBucket: pulumi.String("team-cache"),
			GitlabURL:   "https://gitlab.example.com/",
			APIServer:   testAPIServer,
		}
	}
	_, err := runAlone(t, true, withBucket(settings.CacheSettings{}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cache.type: CacheBucket is given, but the cache is not s3, gcs or azure")

	twice := s3Cache()
	twice.S3.BucketName = "ci-cache"
	_, err = runAlone(t, true, withBucket(twice))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `cache: the bucket is given twice, in Settings ("ci-cache") and as CacheBucket`)

	m, err := runAlone(t, false, &fleet.RunnerFleetArgs{
		Settings:    settings.FleetSettings{Runner: settings.RunnerSettings{Type: "instance_type"}, Cache: s3Cache()},
		CacheBucket: pulumi.String("").ToStringOutput(),
		GitlabURL:   "https://gitlab.example.com/",
		APIServer:   testAPIServer,
	})
	require.Error(t, err, "an empty bucket name is refused once known")
	assert.Contains(t, err.Error(), `the cache bucket given as CacheBucket, ""`)
	assert.Contains(t, err.Error(), "cache.s3.bucketName")
	assert.Empty(t, m.OfType(tStatefulSet), "the workload waits for the configuration")
}

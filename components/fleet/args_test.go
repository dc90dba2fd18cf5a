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

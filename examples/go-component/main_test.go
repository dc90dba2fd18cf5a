package main

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/tests/mocks"
)

// groupMocks give a gitlab.Group the numeric id GitLab would.
type groupMocks struct{ *mocks.Mocks }

func (m groupMocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	id, outputs, err := m.Mocks.NewResource(args)
	if args.TypeToken == "gitlab:index/group:Group" {
		id = "77"
	}
	return id, outputs, err
}

// The example runs under mocks: the group, then the fleet on it, with the
// group's id in the runner and the API server read from the cluster.
func TestExampleProgram(t *testing.T) {
	m := groupMocks{&mocks.Mocks{}}
	err := pulumi.RunErr(program, pulumi.WithMocks("go-component-example", "dev", m), func(info *pulumi.RunInfo) {
		info.Config = map[string]string{"go-component-example:gitlabUrl": "https://gitlab.example.com/"}
	})
	require.NoError(t, err)

	runner := m.Find("gitlab:index/userRunner:UserRunner", "platform-builds")
	require.NotNil(t, runner)
	assert.Equal(t, 77.0, runner.Inputs["groupId"].NumberValue())
	assert.Equal(t, "group_type", runner.Inputs["runnerType"].StringValue())
	assert.Equal(t, "platform-builds (dev)", runner.Inputs["description"].StringValue())
	assert.Contains(t, runner.Dependencies, "urn:pulumi:dev::go-component-example::gitlab:index/group:Group::platform")
	assert.Equal(t, "gitlab-runner-fleet:index:RunnerFleet", runner.ParentType)

	for _, want := range []struct{ typ, name string }{
		{"kubernetes:core/v1:Namespace", "gitlab-runner-platform-builds"},
		{"kubernetes:apps/v1:StatefulSet", "platform-builds"},
		{"kubernetes:networking.k8s.io/v1:NetworkPolicy", "platform-builds-manager"},
		{"kubernetes:discovery.k8s.io/v1:EndpointSlice", "platform-builds-api-server"},
	} {
		assert.NotNil(t, m.Find(want.typ, want.name), "%s %s", want.typ, want.name)
	}
}

// Without GitLab's address the fleet refuses to start, naming the
// argument, and registers nothing.
func TestExampleProgramNeedsGitlabURL(t *testing.T) {
	m := &mocks.Mocks{}
	err := pulumi.RunErr(program, pulumi.WithMocks("go-component-example", "dev", m))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `RunnerFleet "platform-builds": invalid arguments (1 problem(s)); nothing was created`)
	assert.Contains(t, err.Error(), "GitlabURL: is required")
	assert.Nil(t, m.Find("gitlab-runner-fleet:index:RunnerFleet", "platform-builds"))
	assert.Empty(t, m.OfType("gitlab:index/userRunner:UserRunner"))
}

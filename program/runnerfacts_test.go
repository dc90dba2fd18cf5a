package program_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/entrypoint"
	"github.com/glrf/gitlab-runner-fleet/tests/mocks"
)

// fleetOutputs are the stack output fleets.<name>, as strings.
func fleetOutputs(t *testing.T, m *mocks.Mocks, name string) map[string]string {
	t.Helper()
	fleets, ok := m.StackOutputs()["fleets"]
	require.True(t, ok, "the stack exports fleets")
	require.False(t, fleets.ContainsSecrets(), "no output is secret")
	f, ok := fleets.ObjectValue()[resource.PropertyKey(name)]
	require.True(t, ok, "fleets.%s", name)
	out := map[string]string{}
	for k, v := range f.ObjectValue() {
		if v.IsString() {
			out[string(k)] = v.StringValue()
		}
	}
	return out
}

// The outputs give the runner's page as GitLab's routes build it and its
// token's expiry as GitLab answers a verify, asked as the fleet's first
// manager.
func TestOutputsGiveTheRunnersPageAndItsTokensExpiry(t *testing.T) {
	expires := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name, token, fleet string
		runner             fakeRunner
		wantPage           string // %s: the fake's address, %d: the runner id
		wantExpiry         string
	}{
		{"group runner", ownerToken, `{"name":"builds","runner":{"type":"group_type","groupId":1}}`,
			fakeRunner{Type: "group_type", Token: "glrt-mock-builds", GroupID: 1, ExpiresAt: &expires}, "%s/groups/group-1/-/runners/", "2027-03-01T12:00:00Z"},
		{"project runner", ownerToken, `{"name":"builds","runner":{"type":"project_type","projectId":7}}`,
			fakeRunner{Type: "project_type", Token: "glrt-mock-builds", ProjectID: 7}, "%s/group-1/project-7/-/runners/", "never"},
		{"instance runner", adminToken, `{"name":"builds","runner":{"type":"instance_type"}}`,
			fakeRunner{Type: "instance_type", Token: "glrt-mock-builds", ExpiresAt: &expires}, "%s/admin/runners/", "2027-03-01T12:00:00Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeGitlab(t)
			f.anyRunner = &c.runner
			f.runners[1] = c.runner // what the verify finds the token by
			config, secrets := gitlabConfig(f, c.token, `[`+c.fleet+`]`)
			m, err := mocks.RunUp(noEnv.Run, config, secrets)
			require.NoError(t, err)
			out := fleetOutputs(t, m, "builds")
			require.NotEmpty(t, out["runnerId"])
			assert.Equal(t, strings.Replace(c.wantPage, "%s", f.URL, 1)+out["runnerId"], out["runnerUrl"])
			assert.Equal(t, c.wantExpiry, out["tokenExpiresAt"])
			require.NotEmpty(t, f.verified)
			assert.Equal(t, map[string]string{"token": "glrt-mock-builds", "system_id": entrypoint.SystemID("gitlab-runner-builds", "builds-0")}, f.verified[0],
				"asked as the first manager, with the token in the body")
			for _, w := range m.Warnings() {
				assert.NotContains(t, w, "glrt-mock-builds")
			}
		})
	}
}

// With an existing token the runner's id and page come from GitLab too; an
// existing Secret's token the stack never sees, so nothing is known.
func TestOutputsOfExistingTokens(t *testing.T) {
	f := newFakeGitlab(t)
	f.runners[4242] = fakeRunner{Type: "group_type", Token: "glrt-existing", GroupID: 3}
	config, secrets := gitlabConfig(f, ownerToken, `[{"name":"existing","tokenConfigKey":"existingToken"},`+
		`{"name":"vault","namespace":"runners","createNamespace":false,"tokenSecret":{"name":"vault-token"}}]`)
	config["gitlab-runner-fleet:existingToken"] = "glrt-existing"
	secrets = append(secrets, "gitlab-runner-fleet:existingToken")
	m, err := mocks.RunUp(noEnv.Run, config, secrets)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"runnerId": "4242", "runnerUrl": f.URL + "/groups/group-3/-/runners/4242", "tokenExpiresAt": "never"},
		pick(fleetOutputs(t, m, "existing"), "runnerId", "runnerUrl", "tokenExpiresAt"))
	assert.Equal(t, map[string]string{"runnerId": "", "runnerUrl": "", "tokenExpiresAt": ""},
		pick(fleetOutputs(t, m, "vault"), "runnerId", "runnerUrl", "tokenExpiresAt"))
}

// A token GitLab refuses leaves its expiry unknown, with a warning that
// says why and what to do.
func TestOutputsOfARefusedToken(t *testing.T) {
	f := newFakeGitlab(t)
	f.anyRunner = &fakeRunner{Type: "group_type", GroupID: 1}
	config, secrets := gitlabConfig(f, ownerToken, `[{"name":"builds","runner":{"type":"group_type","groupId":1}}]`)
	m, err := mocks.RunUp(noEnv.Run, config, secrets)
	require.NoError(t, err)
	out := fleetOutputs(t, m, "builds")
	assert.Empty(t, out["tokenExpiresAt"])
	assert.NotEmpty(t, out["runnerUrl"], "the page is known all the same")
	require.Len(t, warningsAbout(m, "its token's expiry is not known"), 1)
	assert.Contains(t, warningsAbout(m, "its token's expiry is not known")[0], "GitLab refuses the runner's token")
}

func pick(m map[string]string, keys ...string) map[string]string {
	out := map[string]string{}
	for _, k := range keys {
		out[k] = m[k]
	}
	return out
}

package program_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/program"
	"github.com/glrf/gitlab-runner-fleet/tests/mocks"
)

// gitlabConfig is a stack whose gitlab provider talks to f with token.
func gitlabConfig(f *fakeGitlab, token, fleets string) (map[string]string, []string) {
	config := baseConfig(fleets)
	config["gitlab:baseUrl"] = f.api()
	config["gitlab:token"] = token
	return config, []string{"gitlab:token"}
}

// noEnv keeps the test's environment (a GITLAB_TOKEN of the developer
// running it) out of the program.
var noEnv = program.Options{Getenv: func(string) string { return "" }}

// What GitLab would refuse in `up` is refused before anything is created, in
// previews and in `up`, each problem naming its setting and the fix.
func TestGitlabRefusalsAreReportedBeforeAnythingIsCreated(t *testing.T) {
	f := newFakeGitlab(t)
	f.users["glpat-maintainer"] = fakeUser{ID: 5, Username: "maintainer", Scopes: []string{"api"}, Groups: map[int]int{5: 40}}
	f.users["glpat-create-only"] = fakeUser{ID: 6, Username: "creator", Scopes: []string{"create_runner"}, Groups: ownerOf(1, 9)}
	f.users["glpat-no-manage"] = fakeUser{ID: 7, Username: "no-manage", Scopes: []string{"create_runner", "read_user"}, Groups: ownerOf(1, 9)}
	group := func(id string) string {
		return `[{"name":"builds","runner":{"type":"group_type","groupId":` + id + `}}]`
	}
	cases := []struct {
		name, token, fleets string
		want                []string
	}{
		{"a group that does not exist", ownerToken, group("1000"),
			[]string{"fleets[0] (builds).runner.groupId: GitLab has no group 1000 that the token's user (group-owner) can see: it does not exist, or the user is not a member of it; fix the id, or use a token of the group's Owner"}},
		{"a group the user may not manage", developerToken, group("1"),
			[]string{"fleets[0] (builds).runner.groupId: the token's user (developer) may not manage the runners of group 1: creating a group runner needs the group's Owner role"}},
		{"a group's Maintainer", "glpat-maintainer", group("5"),
			[]string{"fleets[0] (builds).runner.groupId: the token's user (maintainer) is a Maintainer of group 5, but creating a group runner needs the Owner role"}},
		{"a project that does not exist", ownerToken, `[{"name":"release","runner":{"type":"project_type","projectId":1000}}]`,
			[]string{"fleets[0] (release).runner.projectId: GitLab has no project 1000 that the token's user (group-owner) can see"}},
		{"a project the user is not in", developerToken, `[{"name":"release","runner":{"type":"project_type","projectId":7}}]`,
			[]string{"fleets[0] (release).runner.projectId: GitLab has no project 7"}},
		{"an instance runner without an administrator", ownerToken, `[{"name":"shared","runner":{"type":"instance_type"}}]`,
			[]string{"fleets[0] (shared).runner.type: is instance_type, but creating an instance runner needs an administrator's token, and the token's user (group-owner) is not one"}},
		{"a token without read_user", "glpat-create-only", group("1"),
			[]string{"gitlab:token: lacks the read_user scope (or read_api, api) that the gitlab provider's authentication check needs"}},
		{"a wrong token", "glpat-wrong", group("1"),
			[]string{"gitlab:token: GitLab at " + f.api() + " refuses it (401 Unauthorized): it is wrong, expired or revoked"}},
		{"every fleet's problem at once", ownerToken,
			`[{"name":"a","runner":{"type":"group_type","groupId":1000}},{"name":"b","runner":{"type":"project_type","projectId":2000}},{"name":"c","runner":{"type":"group_type","groupId":3}}]`,
			[]string{"2 problem(s)", "fleets[0] (a).runner.groupId: GitLab has no group 1000", "fleets[1] (b).runner.projectId: GitLab has no project 2000"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			config, secrets := gitlabConfig(f, c.token, c.fleets)
			for _, run := range []func() (*mocks.Mocks, error){
				func() (*mocks.Mocks, error) { return mocks.RunPreview(noEnv.Run, config, secrets) },
				func() (*mocks.Mocks, error) { return mocks.Run(noEnv.Run, config, secrets) },
			} {
				m, err := run()
				require.Error(t, err)
				for _, want := range c.want {
					assert.Contains(t, err.Error(), want)
				}
				assert.NotContains(t, err.Error(), c.token, "the token is never quoted")
				assert.Empty(t, m.All(), "nothing registered")
			}
		})
	}
}

// A token whose scopes do not let the program list a group's runners is
// not refused for it (the models of GitLab differ on which scopes may list
// them, and the provider may still create the runner): the check says what
// it could not see, and `up` gets GitLab's own answer.
func TestGitlabScopeTooNarrowToCheckIsAWarning(t *testing.T) {
	f := newFakeGitlab(t)
	f.users["glpat-no-manage"] = fakeUser{ID: 7, Username: "no-manage", Scopes: []string{"create_runner", "read_user"}, Groups: ownerOf(1, 9)}
	config, secrets := gitlabConfig(f, "glpat-no-manage", `[{"name":"builds","runner":{"type":"group_type","groupId":1}}]`)
	m, err := mocks.RunPreview(noEnv.Run, config, secrets)
	require.NoError(t, err)
	assert.Len(t, m.OfType("gitlab:index/userRunner:UserRunner"), 1)
	assert.Contains(t, strings.Join(m.Warnings(), "\n"), "the token's scopes do not let the program list the runners of group 1")
}

func TestGitlabAcceptsWhatItWouldCreate(t *testing.T) {
	f := newFakeGitlab(t)
	fleets := `[{"name":"a","runner":{"type":"group_type","groupId":1}},{"name":"b","runner":{"type":"project_type","projectId":7}},` +
		`{"name":"c","runner":{"type":"group_type","groupId":1,"tags":["x"]}}]`
	config, secrets := gitlabConfig(f, ownerToken, fleets)
	m, err := mocks.RunPreview(noEnv.Run, config, secrets)
	require.NoError(t, err)
	assert.Len(t, m.OfType("gitlab:index/userRunner:UserRunner"), 3)
	count := map[string]int{}
	for _, r := range f.asked() {
		count[r]++
	}
	assert.Equal(t, map[string]int{"GET /api/v4/user": 1, "GET /api/v4/groups/1/runners": 1, "GET /api/v4/groups/1/members/all/2": 1,
		"GET /api/v4/projects/7/runners": 1}, count, "one question per group or project")

	config, secrets = gitlabConfig(f, adminToken, `[{"name":"shared","runner":{"type":"instance_type"}},{"name":"g","runner":{"type":"group_type","groupId":999}}]`)
	_, err = mocks.RunPreview(noEnv.Run, config, secrets)
	require.NoError(t, err, "an administrator creates runners anywhere")

	// The token may come from the environment, as the provider takes it.
	config, _ = gitlabConfig(f, "", `[{"name":"b","runner":{"type":"project_type","projectId":1000}}]`)
	delete(config, "gitlab:token")
	withEnv := program.Options{Getenv: func(key string) string {
		if key == "GITLAB_TOKEN" {
			return developerToken
		}
		return ""
	}}
	_, err = mocks.Run(withEnv.Run, config, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "GitLab has no project 1000 that the token's user (developer) can see")
}

// A GitLab that cannot answer is a warning, as an unreachable cluster is:
// the provider meets the problem itself.
func TestAnUnreachableGitlabIsAWarning(t *testing.T) {
	f := newFakeGitlab(t)
	f.setDown(true)
	config, secrets := gitlabConfig(f, ownerToken, `[{"name":"builds","runner":{"type":"group_type","groupId":1000}}]`)
	m, err := mocks.RunPreview(noEnv.Run, config, secrets)
	require.NoError(t, err)
	assert.NotEmpty(t, m.OfType("gitlab:index/userRunner:UserRunner"))
	require.Len(t, warningsAbout(m, "cannot reach GitLab"), 1)
	assert.Contains(t, warningsAbout(m, "cannot reach GitLab")[0], "cannot reach GitLab at "+f.api()+" to check the groups, projects and rights the fleets name")

	f.Close() // nothing listens any more
	m, err = mocks.RunPreview(noEnv.Run, config, secrets)
	require.NoError(t, err)
	assert.Len(t, warningsAbout(m, "cannot reach GitLab"), 1)

	// Without a token nothing is asked, and the program says so.
	config, _ = gitlabConfig(f, "", `[{"name":"builds","runner":{"type":"group_type","groupId":1000}}]`)
	delete(config, "gitlab:token")
	m, err = mocks.RunPreview(noEnv.Run, config, nil)
	require.NoError(t, err)
	assert.Len(t, warningsAbout(m, "are not checked, and the runners' pages and tokens' expiry not read (outputs runnerUrl, tokenExpiresAt): no GitLab token (gitlab:token or GITLAB_TOKEN)"), 1)
	for _, w := range m.Warnings() {
		assert.False(t, strings.Contains(w, ownerToken))
	}
}

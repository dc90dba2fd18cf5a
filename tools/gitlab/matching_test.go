package gitlab_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/glrf/gitlab-runner-fleet/tools/gitlab"
)

// matchSeed has a group with a subgroup and a group beside it:
//
//	top (10) ── sub (11) ── app (20)
//	   └── tool (22)
//	other (12) ── lib (21)
//
// maint is a Maintainer of app and lib (and of no group).
func matchSeed() *gitlab.Seed {
	maint := []gitlab.SeedMember{{User: "maint", Role: "maintainer"}}
	return &gitlab.Seed{
		Users: []gitlab.SeedUser{{ID: 1, Username: "root", Admin: true}, {ID: 3, Username: "maint"}},
		Groups: []gitlab.SeedGroup{
			{ID: 10, Path: "top"}, {ID: 11, Path: "sub", ParentID: 10}, {ID: 12, Path: "other"},
		},
		Projects: []gitlab.SeedProject{
			{ID: 20, Path: "app", GroupID: 11, Members: maint},
			{ID: 21, Path: "lib", GroupID: 12, Members: maint},
			{ID: 22, Path: "tool", GroupID: 10},
		},
	}
}

// oneJob is a configuration with a single job with tags.
func oneJob(tags ...string) string {
	cfg := "job:\n  script: echo hello\n"
	if len(tags) > 0 {
		cfg += "  tags: [" + strings.Join(tags, ", ") + "]\n"
	}
	return cfg
}

// Which runner takes which job: runner types and scopes (subgroups
// included), tags and untagged jobs, protected refs.
func TestJobMatching(t *testing.T) {
	instanceR := func() *gl.CreateUserRunnerOptions { return instanceRunner() }
	tagged := func(o *gl.CreateUserRunnerOptions, untagged bool, tags ...string) *gl.CreateUserRunnerOptions {
		o.TagList, o.RunUntagged = &tags, gl.Ptr(untagged)
		return o
	}
	protectedOnly := func(o *gl.CreateUserRunnerOptions) *gl.CreateUserRunnerOptions {
		o.AccessLevel = gl.Ptr("ref_protected")
		return o
	}
	tests := []struct {
		name    string
		runner  *gl.CreateUserRunnerOptions
		project int64
		ref     string
		tags    []string
		want    bool
	}{
		{"instance runner, any project", instanceR(), 21, "main", nil, true},
		{"group runner, project of its group", group(11), 20, "main", nil, true},
		{"group runner, project of a subgroup", group(10), 20, "main", nil, true},
		{"group runner, project of its own group under a parent", group(10), 22, "main", nil, true},
		{"subgroup runner, project of the parent group", group(11), 22, "main", nil, false},
		{"group runner, project of another group", group(12), 20, "main", nil, false},
		{"project runner, its project", projectRunner(20), 20, "main", nil, true},
		{"project runner, another project", projectRunner(20), 21, "main", nil, false},
		{"runner with the job's tags and more", tagged(instanceR(), false, "k8s", "amd64"), 20, "main", []string{"k8s"}, true},
		{"runner lacking one of the job's tags", tagged(instanceR(), true, "k8s"), 20, "main", []string{"k8s", "gpu"}, false},
		{"untagged job, runner without run_untagged", tagged(instanceR(), false, "k8s"), 20, "main", nil, false},
		{"untagged job, runner with run_untagged and tags", tagged(instanceR(), true, "k8s"), 20, "main", nil, true},
		{"tagged job, untagged runner", instanceR(), 20, "main", []string{"k8s"}, false},
		{"ref_protected runner, protected ref", protectedOnly(instanceR()), 20, "main", nil, true},
		{"ref_protected runner, unprotected ref", protectedOnly(instanceR()), 20, "feature", nil, false},
		{"not_protected runner, unprotected ref", instanceR(), 20, "feature", nil, true},
		{"ref_protected group runner with tags, all matching", protectedOnly(tagged(group(10), false, "k8s")), 20, "main", []string{"k8s"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := newCIInstance(t, gitlab.Config{Seed: matchSeed()})
			rn := createRunner(t, in.admin, tc.runner)
			pl := pipeline(t, in.admin, tc.project, tc.ref, oneJob(tc.tags...))
			want := jobsOf(t, in.admin, tc.project, pl.ID)[0]
			res := in.newFakeRunner(rn.Token, "s_0123456789ab").requestJob("")
			if !tc.want {
				require.Equal(t, http.StatusNoContent, res.Status, res.String())
				assert.NotEmpty(t, res.Header.Get("X-GitLab-Last-Update"))
				assert.Equal(t, "pending", getJob(t, in.admin, tc.project, want.ID).Status)
				return
			}
			require.Equal(t, http.StatusCreated, res.Status, res.String())
			assert.Contains(t, string(res.Body), fmt.Sprintf(`"id":%d,`, want.ID))
			got := getJob(t, in.admin, tc.project, want.ID)
			assert.Equal(t, "running", got.Status)
			assert.Equal(t, rn.ID, got.Runner.ID)
		})
	}
}

// A paused runner takes nothing; unpaused, it takes the job.
func TestJobMatchingPaused(t *testing.T) {
	in := newCIInstance(t, gitlab.Config{Seed: matchSeed()})
	o := instanceRunner()
	o.Paused = gl.Ptr(true)
	rn := createRunner(t, in.admin, o)
	pipeline(t, in.admin, 20, "main", oneJob())
	f := in.newFakeRunner(rn.Token, "s_0123456789ab")
	res := f.noJob()
	assert.NotEmpty(t, res.Header.Get("X-GitLab-Last-Update"))
	_, _, err := in.admin.Runners.UpdateRunnerDetails(rn.ID, &gl.UpdateRunnerDetailsOptions{Paused: gl.Ptr(false)})
	require.NoError(t, err)
	f.job()
}

// locked keeps a project runner to its projects: it cannot be assigned to
// another (unless by an administrator); an unlocked one can, and then takes
// that project's jobs.
func TestJobMatchingLocked(t *testing.T) {
	in := newCIInstance(t, gitlab.Config{Seed: matchSeed()})
	maint := in.clientOf(3, "api")
	locked := projectRunner(20)
	locked.Locked = gl.Ptr(true)
	lockedRunner := createRunner(t, in.admin, locked)
	openRunner := createRunner(t, in.admin, projectRunner(20))
	groupRunner := createRunner(t, in.admin, group(11))

	_, _, err := maint.Runners.EnableProjectRunner(21, &gl.EnableProjectRunnerOptions{RunnerID: lockedRunner.ID})
	apiError(t, err, 403, `{"message":"403 Forbidden - Runner is locked"}`)
	_, _, err = maint.Runners.EnableProjectRunner(21, &gl.EnableProjectRunnerOptions{RunnerID: groupRunner.ID})
	apiError(t, err, 403, `{"message":"403 Forbidden - Runner is a group runner"}`)
	_, _, err = maint.Runners.EnableProjectRunner(22, &gl.EnableProjectRunnerOptions{RunnerID: openRunner.ID})
	require.ErrorIs(t, err, gl.ErrNotFound, "maint is no member of tool")

	pl := pipeline(t, in.admin, 21, "main", oneJob())
	lib := jobsOf(t, in.admin, 21, pl.ID)[0]
	in.newFakeRunner(lockedRunner.Token, "s_0123456789ab").noJob()
	in.newFakeRunner(openRunner.Token, "s_0123456789ab").noJob()

	assigned, resp, err := maint.Runners.EnableProjectRunner(21, &gl.EnableProjectRunnerOptions{RunnerID: openRunner.ID})
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.Equal(t, openRunner.ID, assigned.ID)
	_, _, err = maint.Runners.EnableProjectRunner(21, &gl.EnableProjectRunnerOptions{RunnerID: openRunner.ID})
	apiError(t, err, 400, `{"message":"400 Bad request - Runner projects runner has already been taken"}`)
	details, _, err := in.admin.Runners.GetRunnerDetails(openRunner.ID)
	require.NoError(t, err)
	require.Len(t, details.Projects, 2)
	assert.Equal(t, int64(21), details.Projects[1].ID)

	in.newFakeRunner(lockedRunner.Token, "s_0123456789ab").noJob()
	got := in.newFakeRunner(openRunner.Token, "s_0123456789ab").job()
	assert.Equal(t, lib.ID, got.ID)

	// An administrator may assign even a locked runner.
	_, _, err = in.admin.Runners.EnableProjectRunner(21, &gl.EnableProjectRunnerOptions{RunnerID: lockedRunner.ID})
	require.NoError(t, err)
}

// Instance runners serve first the projects with the fewest jobs running
// on instance runners; project runners take the oldest job.
func TestJobFairScheduling(t *testing.T) {
	in := newCIInstance(t, gitlab.Config{Seed: matchSeed()})
	shared := in.newFakeRunner(createRunner(t, in.admin, instanceRunner()).Token, "s_0123456789ab")
	pipeline(t, in.admin, 20, "main", oneJob())
	first := shared.job() // app has one job running on an instance runner now
	a2 := jobsOf(t, in.admin, 20, pipeline(t, in.admin, 20, "main", oneJob()).ID)[0]
	b1 := jobsOf(t, in.admin, 21, pipeline(t, in.admin, 21, "main", oneJob()).ID)[0]
	require.Less(t, a2.ID, b1.ID)
	assert.Equal(t, b1.ID, shared.job().ID, "lib has no running job: its newer job goes first")
	assert.Equal(t, a2.ID, shared.job().ID)
	assert.NotEqual(t, first.ID, a2.ID)

	// A project runner takes its project's oldest job.
	own := in.newFakeRunner(createRunner(t, in.admin, projectRunner(20)).Token, "s_0123456789ab")
	a3 := jobsOf(t, in.admin, 20, pipeline(t, in.admin, 20, "main", oneJob()).ID)[0]
	a4 := jobsOf(t, in.admin, 20, pipeline(t, in.admin, 20, "main", oneJob()).ID)[0]
	assert.Equal(t, a3.ID, own.job().ID)
	assert.Equal(t, a4.ID, own.job().ID)
	own.noJob()
}

// A seed may name a project's default branch and its protected branches;
// they decide which jobs a ref_protected runner takes.
func TestJobMatchingSeedProtectedBranches(t *testing.T) {
	seed := matchSeed()
	seed.Projects[0].DefaultBranch = "trunk"
	seed.Projects[0].ProtectedBranches = &[]string{"release/*"}
	in := newCIInstance(t, gitlab.Config{Seed: seed})
	o := projectRunner(20)
	o.AccessLevel = gl.Ptr("ref_protected")
	f := in.newFakeRunner(createRunner(t, in.admin, o).Token, "s_0123456789ab")

	pipeline(t, in.admin, 20, "trunk", oneJob())
	f.noJob()
	release := jobsOf(t, in.admin, 20, pipeline(t, in.admin, 20, "release/1.0", oneJob()).ID)[0]
	j := f.job()
	assert.Equal(t, release.ID, j.ID)
	def, _, _, _, _ := j.variable("CI_DEFAULT_BRANCH")
	assert.Equal(t, "trunk", def)
	protected, _, _, _, _ := j.variable("CI_COMMIT_REF_PROTECTED")
	assert.Equal(t, "true", protected)
}

package gitlab_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/glrf/gitlab-runner-fleet/tools/gitlab"
)

const twoStages = `
stages: [build, test]
compile:
  stage: build
  script: make
unit:
  stage: test
  script: make test
lint:
  stage: test
  script: make lint
`

// POST /projects/:id/pipeline makes the jobs of the configuration: the
// first stage's pending, the others created; GET reads them back.
func TestConformanceCreatePipeline(t *testing.T) {
	in := newInstance(t)
	p := pipeline(t, in.maintainer, 7, "main", twoStages)
	assert.Equal(t, int64(7), p.ProjectID)
	assert.Equal(t, int64(1), p.IID)
	assert.Equal(t, "main", p.Ref)
	assert.Equal(t, "pending", p.Status)
	assert.Equal(t, gl.PipelineSource("api"), p.Source)
	assert.Regexp(t, `^[0-9a-f]{40}$`, p.SHA)
	assert.Equal(t, "0000000000000000000000000000000000000000", p.BeforeSHA)
	assert.Equal(t, "http://localhost/glrf-dev/project-7/-/pipelines/"+itoa(p.ID), p.WebURL)
	require.NotNil(t, p.User)
	assert.Equal(t, gitlab.UserProjectMaintainer, p.User.Username)

	again, _, err := in.maintainer.Pipelines.GetPipeline(7, p.ID)
	require.NoError(t, err)
	assert.Equal(t, p.ID, again.ID)
	second := pipeline(t, in.maintainer, 7, "main", twoStages)
	assert.Equal(t, int64(2), second.IID, "iids count per project")
	assert.Equal(t, p.SHA, second.SHA, "the same ref, the same commit")

	jobs := jobsOf(t, in.maintainer, 7, p.ID)
	require.Len(t, jobs, 3)
	byName := map[string]*gl.Job{}
	for _, j := range jobs {
		byName[j.Name] = j
		assert.Equal(t, p.ID, j.Pipeline.ID)
		assert.Equal(t, "main", j.Ref)
		assert.Equal(t, int64(0), j.Runner.ID, "no runner yet")
		assert.Nil(t, j.StartedAt)
	}
	assert.Equal(t, "pending", byName["compile"].Status)
	assert.Equal(t, "build", byName["compile"].Stage)
	assert.Equal(t, "created", byName["unit"].Status)
	assert.Equal(t, "created", byName["lint"].Status)
	assert.Less(t, byName["compile"].ID, byName["unit"].ID, "ids follow the stages")

	one := getJob(t, in.developer, 7, byName["unit"].ID)
	assert.Equal(t, "unit", one.Name)
	assert.Equal(t, "http://localhost/glrf-dev/project-7/-/jobs/"+itoa(one.ID), one.WebURL)

	// The project's job list, newest first, filtered by scope.
	all, _, err := in.developer.Jobs.ListProjectJobs(7, nil)
	require.NoError(t, err)
	require.Len(t, all, 6)
	assert.Greater(t, all[0].ID, all[5].ID)
	pending, _, err := in.developer.Jobs.ListProjectJobs(7, &gl.ListJobsOptions{Scope: &[]gl.BuildStateValue{gl.Pending}})
	require.NoError(t, err)
	require.Len(t, pending, 2)
	for _, j := range pending {
		assert.Equal(t, "compile", j.Name)
	}
	created, _, err := in.developer.Jobs.ListProjectJobs(7, &gl.ListJobsOptions{Scope: &[]gl.BuildStateValue{gl.Created, gl.Pending}})
	require.NoError(t, err)
	assert.Len(t, created, 6)
	_, _, err = in.developer.Jobs.ListProjectJobs(7, &gl.ListJobsOptions{Scope: &[]gl.BuildStateValue{"sleeping"}})
	apiError(t, err, 400, `{"error":"scope does not have a valid value"}`)
}

// What GitLab refuses when creating a pipeline, and who may.
func TestConformanceCreatePipelineRefused(t *testing.T) {
	in := newInstance(t)
	create := func(c *gl.Client, project int64, ref, src string) error {
		_, _, err := c.Pipelines.CreatePipeline(project, &gl.CreatePipelineOptions{Ref: gl.Ptr(ref)}, withCIConfig(src))
		return err
	}
	apiError(t, create(in.maintainer, 7, "main", ""), 400,
		`{"message":{"base":["Missing CI config file (the GitLab stand-in has no repository: pass the .gitlab-ci.yml content as ci_config)"]}}`)
	apiError(t, create(in.maintainer, 7, "main", "build: {script: make, rules: [{when: always}]}"), 400,
		`{"message":{"base":["jobs:build config contains unknown keys: rules (the GitLab stand-in reads only stage, script, before_script, after_script, image, services, variables, tags, timeout, allow_failure, when)"]}}`)
	apiError(t, create(in.maintainer, 7, "bad..ref", twoStages), 400, `{"message":{"base":["Reference not found"]}}`)
	// A Developer may run pipelines, but not on the protected default branch.
	apiError(t, create(in.developer, 7, "main", twoStages), 400,
		`{"message":{"base":["You do not have sufficient permission to run a pipeline on 'main'. Please select a different branch or contact your administrator for assistance."]}}`)
	require.NoError(t, create(in.developer, 7, "feature/x", twoStages))
	// The group's Owner may; a project that does not exist is not found.
	require.NoError(t, create(in.owner, 7, "main", twoStages))
	require.ErrorIs(t, create(in.maintainer, 5000, "main", twoStages), gl.ErrNotFound)
	status, _, body := raw(t, in.maintainer, http.MethodPost, "projects/5000/pipeline", map[string]any{"ref": "main", "ci_config": twoStages})
	assert.Equal(t, http.StatusNotFound, status)
	assert.JSONEq(t, `{"message":"404 Project Not Found"}`, string(body))

	status, _, body = raw(t, in.maintainer, http.MethodPost, "projects/7/pipeline", map[string]any{"ci_config": twoStages})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.JSONEq(t, `{"error":"ref is missing"}`, string(body))
	status, _, body = raw(t, in.maintainer, http.MethodPost, "projects/7/pipeline", map[string]any{
		"ref": "main", "ci_config": twoStages, "variables": []map[string]any{{"key": "A", "value": "1", "variable_type": "secret"}}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.JSONEq(t, `{"error":"variables[variable_type] does not have a valid value"}`, string(body))

	// Reads need a member; the developer sees its group's projects.
	_, _, err := in.developer.Jobs.ListProjectJobs(7, nil)
	require.NoError(t, err)
	_, _, err = in.developer.Jobs.GetJob(7, 999999)
	require.ErrorIs(t, err, gl.ErrNotFound)
	status, _, body = raw(t, in.developer, http.MethodGet, "projects/7/jobs/999999", nil)
	assert.Equal(t, http.StatusNotFound, status)
	assert.JSONEq(t, `{"message":"404 Not found"}`, string(body))
}

// Protected branches through GitLab's API; the default branch comes
// protected.
func TestConformanceProtectedBranches(t *testing.T) {
	in := newInstance(t)
	list, _, err := in.maintainer.ProtectedBranches.ListProtectedBranches(7, nil)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "main", list[0].Name)
	require.Len(t, list[0].PushAccessLevels, 1)
	assert.Equal(t, gl.MaintainerPermissions, list[0].PushAccessLevels[0].AccessLevel)
	assert.Equal(t, "Maintainers", list[0].PushAccessLevels[0].AccessLevelDescription)

	b, resp, err := in.maintainer.ProtectedBranches.ProtectRepositoryBranches(7, &gl.ProtectRepositoryBranchesOptions{
		Name: gl.Ptr("release/*"), PushAccessLevel: gl.Ptr(gl.DeveloperPermissions)})
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.Equal(t, "release/*", b.Name)
	assert.Equal(t, gl.DeveloperPermissions, b.PushAccessLevels[0].AccessLevel)
	got, _, err := in.developer.ProtectedBranches.GetProtectedBranch(7, "release/*")
	require.NoError(t, err)
	assert.Equal(t, b.ID, got.ID)

	_, _, err = in.maintainer.ProtectedBranches.ProtectRepositoryBranches(7, &gl.ProtectRepositoryBranchesOptions{Name: gl.Ptr("release/*")})
	apiError(t, err, 409, `{"message":"Protected branch 'release/*' already exists"}`)
	_, _, err = in.developer.ProtectedBranches.ProtectRepositoryBranches(7, &gl.ProtectRepositoryBranchesOptions{Name: gl.Ptr("dev")})
	apiError(t, err, 403, `{"message":"403 Forbidden"}`)

	// A wildcard protects what it matches, slashes included; Developers
	// may push there, so they may run pipelines there.
	p := pipeline(t, in.developer, 7, "release/2026/1", twoStages)
	assert.Equal(t, "pending", p.Status)

	_, err = in.maintainer.ProtectedBranches.UnprotectRepositoryBranches(7, "release/*")
	require.NoError(t, err)
	_, err = in.maintainer.ProtectedBranches.UnprotectRepositoryBranches(7, "release/*")
	require.ErrorIs(t, err, gl.ErrNotFound)
	_, err = in.maintainer.ProtectedBranches.UnprotectRepositoryBranches(7, "main")
	require.NoError(t, err)
	pipeline(t, in.developer, 7, "main", twoStages) // no longer protected
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

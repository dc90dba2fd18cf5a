package gitlab_test

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/glrf/gitlab-runner-fleet/tools/gitlab"
)

const payloadConfig = `
variables:
  GLOBAL_VAR: global
  LEFT_ALONE: yes-it-is
build:
  image: {name: "alpine:3.20", entrypoint: [""]}
  services:
    - name: postgres:16
      alias: db
      variables: {POSTGRES_PASSWORD: secret}
  before_script: [echo before]
  script: [echo hello]
  after_script: [echo after]
  timeout: 30m
  tags: [k8s]
  variables:
    FF_PRINT_POD_EVENTS: "true"
    GIT_STRATEGY: none
    GLOBAL_VAR: job
`

// The job a runner receives carries what the runner needs, in the fields
// of its spec.Job: id and token, job, git and runner information, the
// variables (predefined, the file's, the pipeline's, with their flags),
// steps, image and services.
func TestJobPayload(t *testing.T) {
	in := newCIInstance(t, gitlab.Config{})
	rn := createRunner(t, in.admin, &gl.CreateUserRunnerOptions{RunnerType: gl.Ptr("group_type"),
		GroupID: gl.Ptr(int64(gitlab.DevGroupID)), Description: gl.Ptr("fleet-dev"), TagList: &[]string{"k8s"},
		MaximumTimeout: gl.Ptr(int64(7200))})
	pl := pipeline(t, in.maintainer, 7, "main", payloadConfig,
		&gl.PipelineVariableOptions{Key: gl.Ptr("DEPLOY_KEY"), Value: gl.Ptr("key-material"), VariableType: gl.Ptr(gl.FileVariableType)},
		&gl.PipelineVariableOptions{Key: gl.Ptr("GIT_STRATEGY"), Value: gl.Ptr("none")})
	f := in.newFakeRunner(rn.Token, "s_0123456789ab")
	j := f.job()

	// Exactly spec.Job's fields (common/spec/spec.go), nothing else.
	var top map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(j.raw, &top))
	specJob := []string{"id", "token", "allow_git_fetch", "job_info", "git_info", "runner_info", "inputs", "variables",
		"steps", "image", "services", "artifacts", "cache", "credentials", "dependencies", "features", "secrets",
		"hooks", "run", "policy_options", "suspend_options"}
	for key := range top {
		assert.Contains(t, specJob, key, "a field the runner does not read")
	}

	assert.Regexp(t, `^glcbt-[A-Za-z0-9_-]{27}$`, j.Token)
	assert.Equal(t, "build", j.JobInfo.Name)
	assert.Equal(t, "test", j.JobInfo.Stage)
	assert.Equal(t, pl.ID, j.JobInfo.PipelineID)
	assert.Equal(t, int64(7), j.JobInfo.ProjectID)
	assert.Equal(t, "Project 7", j.JobInfo.ProjectName)
	assert.Equal(t, "glrf-dev/project-7", j.JobInfo.ProjectFullPath)

	assert.Equal(t, "http://gitlab-ci-token:"+j.Token+"@localhost/glrf-dev/project-7.git", j.GitInfo.RepoURL)
	assert.Equal(t, "main", j.GitInfo.Ref)
	assert.Equal(t, pl.SHA, j.GitInfo.Sha)
	assert.Equal(t, "0000000000000000000000000000000000000000", j.GitInfo.BeforeSha)
	assert.Equal(t, "branch", j.GitInfo.RefType)
	assert.Equal(t, []string{"+refs/pipelines/" + itoa(pl.ID) + ":refs/pipelines/" + itoa(pl.ID),
		"+refs/heads/main:refs/remotes/origin/main"}, j.GitInfo.Refspecs)
	assert.Equal(t, 20, j.GitInfo.Depth)
	require.NotNil(t, j.GitInfo.Protected)
	assert.True(t, *j.GitInfo.Protected)
	assert.Equal(t, 1800, j.RunnerInfo.Timeout, "the job's timeout, under the runner's maximum")

	type flags struct {
		value                string
		public, masked, file bool
	}
	want := map[string]flags{
		"CI_JOB_TOKEN":            {j.Token, false, true, false},
		"CI_REGISTRY_PASSWORD":    {j.Token, false, true, false},
		"CI_REPOSITORY_URL":       {j.GitInfo.RepoURL, false, false, false},
		"CI_JOB_ID":               {itoa(j.ID), true, false, false},
		"CI_JOB_NAME":             {"build", true, false, false},
		"CI_JOB_STAGE":            {"test", true, false, false},
		"CI_PIPELINE_ID":          {itoa(pl.ID), true, false, false},
		"CI_PIPELINE_SOURCE":      {"api", true, false, false},
		"CI_SERVER_URL":           {"http://localhost", true, false, false},
		"CI_API_V4_URL":           {"http://localhost/api/v4", true, false, false},
		"CI_PROJECT_ID":           {"7", true, false, false},
		"CI_PROJECT_PATH":         {"glrf-dev/project-7", true, false, false},
		"CI_PROJECT_PATH_SLUG":    {"glrf-dev-project-7", true, false, false},
		"CI_PROJECT_NAMESPACE":    {"glrf-dev", true, false, false},
		"CI_DEFAULT_BRANCH":       {"main", true, false, false},
		"CI_COMMIT_SHA":           {pl.SHA, true, false, false},
		"CI_COMMIT_REF_NAME":      {"main", true, false, false},
		"CI_COMMIT_REF_PROTECTED": {"true", true, false, false},
		"CI_RUNNER_ID":            {itoa(rn.ID), true, false, false},
		"CI_RUNNER_DESCRIPTION":   {"fleet-dev", true, false, false},
		"CI_RUNNER_TAGS":          {`["k8s"]`, true, false, false},
		"GITLAB_USER_LOGIN":       {gitlab.UserProjectMaintainer, true, false, false},
		"FF_PRINT_POD_EVENTS":     {"true", true, false, false},
		"GLOBAL_VAR":              {"job", true, false, false},
		"LEFT_ALONE":              {"yes-it-is", true, false, false},
		"DEPLOY_KEY":              {"key-material", false, false, true},
		"GIT_STRATEGY":            {"none", false, false, false}, // the pipeline's, last
	}
	for key, w := range want {
		value, public, masked, file, ok := j.variable(key)
		require.True(t, ok, key)
		assert.Equal(t, w, flags{value, public, masked, file}, key)
	}
	// The pipeline's variable comes after the file's.
	names := []string{}
	for _, v := range j.Variables {
		names = append(names, v.Key)
	}
	assert.Less(t, slices.Index(names, "FF_PRINT_POD_EVENTS"), slices.Index(names, "DEPLOY_KEY"))

	require.Len(t, j.Steps, 2)
	assert.Equal(t, "script", j.Steps[0].Name)
	assert.Equal(t, []string{"echo before", "echo hello"}, j.Steps[0].Script)
	assert.Equal(t, 1800, j.Steps[0].Timeout)
	assert.Equal(t, "on_success", j.Steps[0].When)
	assert.False(t, j.Steps[0].AllowFailure)
	assert.Equal(t, "after_script", j.Steps[1].Name)
	assert.Equal(t, []string{"echo after"}, j.Steps[1].Script)
	assert.Equal(t, "always", j.Steps[1].When)
	assert.True(t, j.Steps[1].AllowFailure)
	require.NotNil(t, j.Image)
	assert.Equal(t, "alpine:3.20", j.Image.Name)
	assert.Equal(t, []string{""}, j.Image.Entrypoint)
	require.Len(t, j.Services, 1)
	assert.Equal(t, "postgres:16", j.Services[0].Name)
	assert.Equal(t, "db", j.Services[0].Alias)
	require.Len(t, j.Services[0].Variables, 1)
	assert.Equal(t, "POSTGRES_PASSWORD", j.Services[0].Variables[0].Key)
	assert.True(t, j.Features.TraceSections)
	assert.Subset(t, j.Features.FailureReasons, []string{"script_failure", "runner_system_failure", "job_execution_timeout"})

	// GitLab's view: running on that runner and manager.
	got := getJob(t, in.maintainer, 7, j.ID)
	assert.Equal(t, "running", got.Status)
	assert.NotNil(t, got.StartedAt)
	assert.Equal(t, rn.ID, got.Runner.ID)
	assert.Equal(t, "fleet-dev", got.Runner.Description)
	assert.Equal(t, []string{"k8s"}, got.TagList)
	_, _, body := raw(t, in.maintainer, http.MethodGet, "projects/7/jobs/"+itoa(j.ID), nil)
	manager := obj(t, body)["runner_manager"].(map[string]any)
	assert.Equal(t, "s_0123456789ab", manager["system_id"])
	assert.Equal(t, "19.4.0~pre.1", manager["version"])
	assert.Equal(t, "online", manager["status"])
	assert.Equal(t, "active", manager["job_execution_status"])
	details, _, err := in.admin.Runners.GetRunnerDetails(rn.ID)
	require.NoError(t, err)
	assert.Equal(t, "online", details.Status)
	assert.NotNil(t, details.ContactedAt)
	running, _, err := in.admin.Runners.ListRunnerJobs(rn.ID, &gl.ListRunnerJobsOptions{Status: gl.Ptr("running")})
	require.NoError(t, err)
	require.Len(t, running, 1)
	assert.Equal(t, j.ID, running[0].ID)
}

// A runner's maximum_timeout caps the job's timeout.
func TestJobTimeoutCappedByRunner(t *testing.T) {
	in := newCIInstance(t, gitlab.Config{})
	o := group(gitlab.DevGroupID)
	o.MaximumTimeout = gl.Ptr(int64(600))
	f := in.newFakeRunner(createRunner(t, in.admin, o).Token, "s_0123456789ab")
	pipeline(t, in.maintainer, 7, "main", "build: {script: make, timeout: 2h}")
	j := f.job()
	assert.Equal(t, 600, j.RunnerInfo.Timeout)
	assert.Equal(t, 600, j.Steps[0].Timeout)
	pipeline(t, in.maintainer, 7, "main", "build: {script: make}")
	assert.Equal(t, 600, f.job().RunnerInfo.Timeout, "the project's hour, capped")
}

// The log arrives in patches; the final update waits (202) until the log
// is whole, then ends the job; a finished job refuses the runner.
func TestJobTraceAndUpdate(t *testing.T) {
	in := newCIInstance(t, gitlab.Config{})
	f := in.newFakeRunner(createRunner(t, in.admin, group(gitlab.DevGroupID)).Token, "s_0123456789ab")
	pl := pipeline(t, in.maintainer, 7, "main", twoStages)
	j := f.job()

	res := f.patch(j.ID, j.Token, 0, "hello\n")
	require.Equal(t, http.StatusAccepted, res.Status, res.String())
	assert.Equal(t, "0-6", res.Header.Get("Range"))
	assert.Equal(t, "running", res.Header.Get("Job-Status"))
	assert.Equal(t, "30", res.Header.Get("X-GitLab-Trace-Update-Interval"))

	res = f.patch(j.ID, j.Token, 3, "xx")
	require.Equal(t, http.StatusRequestedRangeNotSatisfiable, res.Status, res.String())
	assert.Equal(t, "0-6", res.Header.Get("Range"), "where the runner must resume")
	assert.JSONEq(t, `{"message":"416 Range Not Satisfiable"}`, string(res.Body))
	res = f.patch(j.ID, j.Token, 6, "world\n")
	require.Equal(t, http.StatusAccepted, res.Status, res.String())
	assert.Equal(t, "0-12", res.Header.Get("Range"))

	res = f.send(http.MethodPatch, "jobs/"+itoa(j.ID)+"/trace", map[string]string{"JOB-TOKEN": j.Token}, []byte("x"))
	assert.Equal(t, http.StatusBadRequest, res.Status)
	assert.JSONEq(t, `{"message":"400 Missing header Content-Range"}`, string(res.Body))

	// Keep-alive.
	res = f.update(j.ID, j.Token, map[string]any{"state": "running"})
	require.Equal(t, http.StatusOK, res.Status, res.String())
	assert.Equal(t, "running", res.Header.Get("Job-Status"))
	assert.Equal(t, "200", string(res.Body))

	// The runner reports success with a log the stand-in has not all of.
	const log = "hello\nworld\ndone\n"
	res = f.finalUpdate(j.ID, j.Token, "success", log, nil)
	require.Equal(t, http.StatusAccepted, res.Status, res.String())
	assert.Equal(t, "running", res.Header.Get("Job-Status"))
	interval, err := strconv.Atoi(res.Header.Get("X-GitLab-Trace-Update-Interval"))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, interval, 1)
	assert.Equal(t, "running", getJob(t, in.maintainer, 7, j.ID).Status)
	require.Equal(t, http.StatusAccepted, f.patch(j.ID, j.Token, 12, "done\n").Status)
	res = f.finalUpdate(j.ID, j.Token, "success", log, nil)
	require.Equal(t, http.StatusOK, res.Status, res.String())
	assert.Equal(t, "success", res.Header.Get("Job-Status"))

	done := getJob(t, in.maintainer, 7, j.ID)
	assert.Equal(t, "success", done.Status)
	assert.NotNil(t, done.FinishedAt)
	trace, _, err := in.developer.Jobs.GetTraceFile(7, j.ID)
	require.NoError(t, err)
	data, _ := io.ReadAll(trace)
	assert.Equal(t, log, string(data))

	// The job no longer runs: the runner is refused, with the status.
	res = f.patch(j.ID, j.Token, 17, "late\n")
	require.Equal(t, http.StatusForbidden, res.Status)
	assert.Equal(t, "success", res.Header.Get("Job-Status"))
	assert.JSONEq(t, `{"message":"403 Forbidden - Job is not processing on runner"}`, string(res.Body))
	assert.Equal(t, http.StatusForbidden, f.update(j.ID, j.Token, map[string]any{"state": "running"}).Status)

	// The next stage's jobs are queued now.
	stages := map[string]string{}
	for _, job := range jobsOf(t, in.maintainer, 7, pl.ID) {
		stages[job.Name] = job.Status
	}
	assert.Equal(t, map[string]string{"compile": "success", "unit": "pending", "lint": "pending"}, stages)
}

// Stages run in order; a failure skips what needs success and runs what
// runs on failure or always; an allowed failure counts as a success.
func TestPipelineStages(t *testing.T) {
	in := newCIInstance(t, gitlab.Config{})
	f := in.newFakeRunner(createRunner(t, in.admin, group(gitlab.DevGroupID)).Token, "s_0123456789ab")
	pl := pipeline(t, in.maintainer, 7, "feature", `
stages: [build, test, deploy, cleanup]
compile: {stage: build, script: make}
flaky: {stage: build, script: flaky, allow_failure: true}
unit: {stage: test, script: make test}
ship: {stage: deploy, script: ship}
report: {stage: cleanup, script: report, when: on_failure}
tidy: {stage: cleanup, script: tidy, when: always}
`)
	status := func() map[string]string {
		out := map[string]string{}
		for _, j := range jobsOf(t, in.maintainer, 7, pl.ID) {
			out[j.Name] = j.Status
		}
		return out
	}
	finish := func(name, state string, extra map[string]any) {
		t.Helper()
		j := f.job()
		require.Equal(t, name, j.JobInfo.Name)
		res := f.finalUpdate(j.ID, j.Token, state, "", extra)
		require.Equal(t, http.StatusOK, res.Status, res.String())
	}
	assert.Equal(t, map[string]string{"compile": "pending", "flaky": "pending", "unit": "created", "ship": "created",
		"report": "created", "tidy": "created"}, status())
	finish("compile", "success", nil)
	finish("flaky", "failed", map[string]any{"failure_reason": "script_failure", "exit_code": 1})
	p, _, err := in.maintainer.Pipelines.GetPipeline(7, pl.ID)
	require.NoError(t, err)
	assert.Equal(t, "running", p.Status)
	finish("unit", "failed", map[string]any{"failure_reason": "frobnicated", "exit_code": 2})
	assert.Equal(t, map[string]string{"compile": "success", "flaky": "failed", "unit": "failed", "ship": "skipped",
		"report": "pending", "tidy": "pending"}, status())
	finish("report", "success", nil)
	finish("tidy", "success", nil)
	f.noJob()

	p, _, err = in.maintainer.Pipelines.GetPipeline(7, pl.ID)
	require.NoError(t, err)
	assert.Equal(t, "failed", p.Status)
	assert.NotNil(t, p.FinishedAt)
	jobs := jobsOf(t, in.maintainer, 7, pl.ID)
	i := slices.IndexFunc(jobs, func(j *gl.Job) bool { return j.Name == "unit" })
	assert.Equal(t, "unknown_failure", jobs[i].FailureReason, "a reason GitLab does not know")
	i = slices.IndexFunc(jobs, func(j *gl.Job) bool { return j.Name == "flaky" })
	assert.Equal(t, "script_failure", jobs[i].FailureReason)
	assert.True(t, jobs[i].AllowFailure)
}

// A manager that advertises two_phase_job_commit gets its job while the
// job stays pending, until it confirms it.
func TestJobTwoPhaseCommit(t *testing.T) {
	in := newCIInstance(t, gitlab.Config{})
	rn := createRunner(t, in.admin, group(gitlab.DevGroupID))
	f := in.newFakeRunner(rn.Token, "s_0123456789ab")
	f.features["two_phase_job_commit"] = true
	pipeline(t, in.maintainer, 7, "main", "build: {script: make}")
	j := f.job()
	got := getJob(t, in.maintainer, 7, j.ID)
	assert.Equal(t, "pending", got.Status)
	assert.Equal(t, rn.ID, got.Runner.ID)
	assert.Nil(t, got.StartedAt)
	f.noJob() // given to this manager already

	res := f.update(j.ID, j.Token, map[string]any{"state": "pending"})
	assert.Equal(t, http.StatusOK, res.Status, "a keep-alive while preparing")
	assert.Equal(t, "pending", res.Header.Get("Job-Status"))
	assert.Equal(t, http.StatusBadRequest, f.update(j.ID, j.Token, map[string]any{"state": "success"}).Status)
	res = f.update(j.ID, j.Token, map[string]any{"state": "running"})
	require.Equal(t, http.StatusOK, res.Status, res.String())
	assert.Equal(t, "running", res.Header.Get("Job-Status"))
	got = getJob(t, in.maintainer, 7, j.ID)
	assert.Equal(t, "running", got.Status)
	assert.NotNil(t, got.StartedAt)
	_, _, body := raw(t, in.maintainer, http.MethodGet, "projects/7/jobs/"+itoa(j.ID), nil)
	assert.Equal(t, "s_0123456789ab", obj(t, body)["runner_manager"].(map[string]any)["system_id"])
}

// Canceling a job: the runner learns it from Job-Status in the answers to
// its log patches and updates, as with GitLab.
func TestJobCancel(t *testing.T) {
	in := newCIInstance(t, gitlab.Config{})
	rn := createRunner(t, in.admin, group(gitlab.DevGroupID))

	t.Run("a runner that cancels gracefully", func(t *testing.T) {
		f := in.newFakeRunner(rn.Token, "s_0123456789ab")
		pipeline(t, in.maintainer, 7, "main", "build: {script: make}")
		j := f.job()
		canceled, resp, err := in.developer.Jobs.CancelJob(7, j.ID)
		require.NoError(t, err)
		assert.Equal(t, http.StatusCreated, resp.StatusCode)
		assert.Equal(t, "canceling", canceled.Status)
		res := f.patch(j.ID, j.Token, 0, "working\n")
		require.Equal(t, http.StatusAccepted, res.Status)
		assert.Equal(t, "canceling", res.Header.Get("Job-Status"))
		res = f.update(j.ID, j.Token, map[string]any{"state": "running"})
		require.Equal(t, http.StatusOK, res.Status)
		assert.Equal(t, "canceling", res.Header.Get("Job-Status"))
		// after_script ran; the runner reports the job failed: it ends canceled.
		res = f.finalUpdate(j.ID, j.Token, "failed", "working\n", map[string]any{"failure_reason": "job_canceled"})
		require.Equal(t, http.StatusOK, res.Status, res.String())
		assert.Equal(t, "canceled", res.Header.Get("Job-Status"))
		got := getJob(t, in.maintainer, 7, j.ID)
		assert.Equal(t, "canceled", got.Status)
		assert.Empty(t, got.FailureReason)
	})
	t.Run("a runner that does not", func(t *testing.T) {
		f := in.newFakeRunner(rn.Token, "s_0123456789cd")
		f.features["cancel_gracefully"] = false
		pipeline(t, in.maintainer, 7, "main", "build: {script: make}")
		j := f.job()
		canceled, _, err := in.developer.Jobs.CancelJob(7, j.ID)
		require.NoError(t, err)
		assert.Equal(t, "canceled", canceled.Status)
		for _, res := range []reply{f.patch(j.ID, j.Token, 0, "working\n"), f.update(j.ID, j.Token, map[string]any{"state": "running"})} {
			require.Equal(t, http.StatusForbidden, res.Status, res.String())
			assert.Equal(t, "canceled", res.Header.Get("Job-Status"))
			assert.JSONEq(t, `{"message":"403 Forbidden - Job is not processing on runner"}`, string(res.Body))
		}
	})
	t.Run("a job no runner took, and a finished one", func(t *testing.T) {
		f := in.newFakeRunner(rn.Token, "s_0123456789ef")
		pl := pipeline(t, in.maintainer, 7, "main", "build: {script: make}")
		queued := jobsOf(t, in.maintainer, 7, pl.ID)[0]
		canceled, _, err := in.developer.Jobs.CancelJob(7, queued.ID)
		require.NoError(t, err)
		assert.Equal(t, "canceled", canceled.Status)
		f.noJob()
		p, _, err := in.maintainer.Pipelines.GetPipeline(7, pl.ID)
		require.NoError(t, err)
		assert.Equal(t, "canceled", p.Status)

		pipeline(t, in.maintainer, 7, "main", "build: {script: make}")
		j := f.job()
		require.Equal(t, http.StatusOK, f.finalUpdate(j.ID, j.Token, "success", "", nil).Status)
		again, resp, err := in.developer.Jobs.CancelJob(7, j.ID)
		require.NoError(t, err)
		assert.Equal(t, http.StatusCreated, resp.StatusCode)
		assert.Equal(t, "success", again.Status)
	})
}

// A job token opens its own job only.
func TestJobTokens(t *testing.T) {
	in := newCIInstance(t, gitlab.Config{})
	f := in.newFakeRunner(createRunner(t, in.admin, group(gitlab.DevGroupID)).Token, "s_0123456789ab")
	pipeline(t, in.maintainer, 7, "main", "a: {script: a}\nb: {script: b}")
	a, b := f.job(), f.job()
	const forbidden = `{"message":"403 Forbidden"}`
	for _, res := range []reply{
		f.patch(b.ID, a.Token, 0, "x"),
		f.update(b.ID, a.Token, map[string]any{"state": "success"}),
		f.update(999999, a.Token, map[string]any{"state": "running"}),
		f.update(b.ID, "glcbt-not-a-token-of-anything", map[string]any{"state": "running"}),
	} {
		assert.Equal(t, http.StatusForbidden, res.Status, res.String())
		assert.JSONEq(t, forbidden, string(res.Body))
		assert.Empty(t, res.Header.Get("Job-Status"))
	}
	assert.Equal(t, "running", getJob(t, in.maintainer, 7, b.ID).Status)

	res := f.send(http.MethodPut, "jobs/"+itoa(a.ID), map[string]string{"Content-Type": "application/json", "JOB-TOKEN": a.Token},
		[]byte(`{"state":"running"}`))
	assert.Equal(t, http.StatusBadRequest, res.Status, "PUT needs the token in its body")
	assert.JSONEq(t, `{"error":"token is missing"}`, string(res.Body))
	res = f.send(http.MethodPatch, "jobs/"+itoa(a.ID)+"/trace?token="+a.Token, map[string]string{"Content-Range": "0-1"}, []byte("ok"))
	assert.Equal(t, http.StatusAccepted, res.Status, "the token may come as a parameter")

	report := in.srv.ForbiddenRequests()
	require.Len(t, report.Requests, 4)
	reasons := map[string]int{}
	for _, r := range report.Requests {
		assert.Equal(t, gitlab.AuthJob, r.Auth)
		reasons[r.Reason]++
	}
	assert.Equal(t, map[string]int{
		"invalid job token (the token of job " + itoa(a.ID) + ")": 2,
		gitlab.ForbiddenJobNotFound:                               1,
		gitlab.ForbiddenJobToken:                                  1,
	}, reasons, slices.Collect(maps.Keys(reasons)))
}

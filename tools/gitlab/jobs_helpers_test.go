package gitlab_test

// Helpers of the job-side tests: a stand-in with chosen settings, pipelines
// created through client-go (the ci_config extension added as a request
// option, the way any client would add it), and a client that sends the
// requests gitlab-runner sends, shaped as its network package shapes them
// (network/gitlab.go: RequestJob, UpdateJob, PatchTrace; the bodies are
// common.JobRequest and common.UpdateJobRequest).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/stretchr/testify/require"
	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/glrf/gitlab-runner-fleet/tools/gitlab"
)

// newCIInstance is newInstance with cfg (its Tokens are replaced by root's).
// The server is closed before the HTTP server, so that held long polls end.
func newCIInstance(t *testing.T, cfg gitlab.Config) *instance {
	t.Helper()
	cfg.Tokens = []gitlab.PersonalAccessToken{{Name: "root", Token: rootToken, Scopes: gitlab.AdminScopes}}
	srv, err := gitlab.New(cfg)
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	t.Cleanup(srv.Close) // runs first
	in := &instance{t: t, ts: ts, srv: srv}
	in.admin = in.client(rootToken)
	if cfg.Seed == nil {
		in.owner = in.clientOf(2, "api")
		in.maintainer = in.clientOf(3, "api")
		in.developer = in.clientOf(4, "api")
	}
	return in
}

// withCIConfig adds the stand-in's ci_config to a CreatePipeline request.
func withCIConfig(src string) gl.RequestOptionFunc {
	return func(req *retryablehttp.Request) error {
		body, err := req.BodyBytes()
		if err != nil {
			return err
		}
		fields := map[string]any{}
		if len(body) > 0 {
			if err := json.Unmarshal(body, &fields); err != nil {
				return err
			}
		}
		fields["ci_config"] = src
		data, err := json.Marshal(fields)
		if err != nil {
			return err
		}
		return req.SetBody(data)
	}
}

// pipeline creates a pipeline on ref with the given .gitlab-ci.yml.
func pipeline(t *testing.T, c *gl.Client, project int64, ref, ciConfig string, vars ...*gl.PipelineVariableOptions) *gl.Pipeline {
	t.Helper()
	opts := &gl.CreatePipelineOptions{Ref: gl.Ptr(ref)}
	if len(vars) > 0 {
		opts.Variables = &vars
	}
	p, resp, err := c.Pipelines.CreatePipeline(project, opts, withCIConfig(ciConfig))
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	return p
}

// jobsOf lists a pipeline's jobs.
func jobsOf(t *testing.T, c *gl.Client, project, pipelineID int64) []*gl.Job {
	t.Helper()
	jobs, _, err := c.Jobs.ListPipelineJobs(project, pipelineID, nil)
	require.NoError(t, err)
	return jobs
}

// getJob reads a job.
func getJob(t *testing.T, c *gl.Client, project, id int64) *gl.Job {
	t.Helper()
	j, _, err := c.Jobs.GetJob(project, id)
	require.NoError(t, err)
	return j
}

// fakeRunner sends what a gitlab-runner manager sends.
type fakeRunner struct {
	t        *testing.T
	base     string // http://host:port/api/v4/
	token    string
	systemID string
	// features are the FeaturesInfo flags the manager advertises besides
	// the network client's own (TraceReset, TraceChecksum, TraceSize,
	// Cancelable, CancelGracefully, TwoPhaseJobCommit, JobInputs: see
	// GitLabClient.getFeatures).
	features map[string]bool
}

// newFakeRunner is a manager of the runner with token. Like the real
// client it advertises cancel_gracefully but not two_phase_job_commit
// unless told (the real one advertises both; tests choose).
func (in *instance) newFakeRunner(token, systemID string) *fakeRunner {
	return &fakeRunner{t: in.t, base: in.ts.URL + "/api/v4/", token: token, systemID: systemID,
		features: map[string]bool{
			"variables": true, "image": true, "services": true, "artifacts": true, "cache": true, "shared": true,
			"upload_multiple_artifacts": true, "upload_raw_artifacts": true, "session": true, "terminal": true,
			"refspecs": true, "masking": true, "proxy": false, "raw_variables": true, "artifacts_exclude": true,
			"multi_build_steps": true, "trace_reset": true, "trace_checksum": true, "trace_size": true,
			"vault_secrets": true, "cancelable": true, "return_exit_code": true, "service_variables": true,
			"service_multiple_aliases": true, "image_executor_opts": true, "service_executor_opts": true,
			"cancel_gracefully": true, "two_phase_job_commit": false, "job_inputs": true,
		}}
}

// info is common.Info as the kubernetes executor fills it in.
func (f *fakeRunner) info() map[string]any {
	return map[string]any{
		"name": "gitlab-runner", "version": "19.4.0~pre.1", "revision": "fc1f1862", "platform": "linux",
		"architecture": "amd64", "executor": "kubernetes", "shell": "bash", "features": f.features,
		"config": map[string]any{"gpus": ""},
	}
}

// reply is an answer.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

func (f *fakeRunner) send(method, path string, headers map[string]string, body []byte) reply {
	f.t.Helper()
	res, err := f.sendContext(context.Background(), method, path, headers, body)
	require.NoError(f.t, err)
	return res
}

// sendContext sends a request and reads the answer; it may run in any
// goroutine.
func (f *fakeRunner) sendContext(ctx context.Context, method, path string, headers map[string]string, body []byte) (reply, error) {
	req, err := http.NewRequestWithContext(ctx, method, f.base+path, bytes.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("User-Agent", "gitlab-runner 19.4.0~pre.1 (main; go1.25; linux/amd64)")
	req.Header.Set("X-Request-Id", "0123456789abcdef0123456789abcdef")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	return reply{Status: res.StatusCode, Header: res.Header, Body: data}, err
}

// jobRequestBody is a common.JobRequest.
func (f *fakeRunner) jobRequestBody(lastUpdate string) []byte {
	body := map[string]any{"info": f.info(), "token": f.token}
	if f.systemID != "" {
		body["system_id"] = f.systemID
	}
	if lastUpdate != "" {
		body["last_update"] = lastUpdate
	}
	data, _ := json.Marshal(body)
	return data
}

// jobRequestHeaders are RequestJob's headers.
func (f *fakeRunner) jobRequestHeaders() map[string]string {
	return map[string]string{"Content-Type": "application/json", "Accept": "application/json", "RUNNER-TOKEN": f.token}
}

// requestJob is GitLabClient.RequestJob: POST jobs/request with a
// common.JobRequest, RUNNER-TOKEN header, expecting 201.
func (f *fakeRunner) requestJob(lastUpdate string) reply {
	f.t.Helper()
	return f.send(http.MethodPost, "jobs/request", f.jobRequestHeaders(), f.jobRequestBody(lastUpdate))
}

// requestJobAsync sends the request in another goroutine; the answer (or
// the error, as Status 0 and the message as Body) arrives on the channel.
func (f *fakeRunner) requestJobAsync(ctx context.Context, lastUpdate string) <-chan reply {
	out := make(chan reply, 1)
	body, headers := f.jobRequestBody(lastUpdate), f.jobRequestHeaders()
	go func() {
		res, err := f.sendContext(ctx, http.MethodPost, "jobs/request", headers, body)
		if err != nil {
			res = reply{Body: []byte(err.Error())}
		}
		out <- res
	}()
	return out
}

// job requests a job and decodes it; it fails the test on anything but 201.
func (f *fakeRunner) job() *runnerJob {
	f.t.Helper()
	res := f.requestJob("")
	require.Equal(f.t, http.StatusCreated, res.Status, string(res.Body))
	var j runnerJob
	require.NoError(f.t, json.Unmarshal(res.Body, &j))
	j.raw = res.Body
	return &j
}

// noJob requests a job and expects 204.
func (f *fakeRunner) noJob() reply {
	f.t.Helper()
	res := f.requestJob("")
	require.Equal(f.t, http.StatusNoContent, res.Status, string(res.Body))
	return res
}

// update is GitLabClient.UpdateJob: PUT jobs/:id with a
// common.UpdateJobRequest and the JOB-TOKEN header.
func (f *fakeRunner) update(id int64, jobToken string, fields map[string]any) reply {
	f.t.Helper()
	body := map[string]any{"info": f.info(), "token": jobToken, "output": map[string]any{}}
	for k, v := range fields {
		body[k] = v
	}
	data, err := json.Marshal(body)
	require.NoError(f.t, err)
	return f.send(http.MethodPut, "jobs/"+strconv.FormatInt(id, 10), map[string]string{
		"Content-Type": "application/json", "JOB-TOKEN": jobToken,
	}, data)
}

// finalUpdate sends state with the checksum and size of log, as the trace
// client does.
func (f *fakeRunner) finalUpdate(id int64, jobToken, state string, log string, extra map[string]any) reply {
	f.t.Helper()
	sum := fmt.Sprintf("crc32:%08x", crc32.ChecksumIEEE([]byte(log)))
	fields := map[string]any{"state": state, "checksum": sum, "output": map[string]any{"checksum": sum, "bytesize": len(log)}}
	for k, v := range extra {
		fields[k] = v
	}
	return f.update(id, jobToken, fields)
}

// patch is GitLabClient.PatchTrace: PATCH jobs/:id/trace?debug_trace=false
// with Content-Range start-end (end inclusive) and the JOB-TOKEN header.
func (f *fakeRunner) patch(id int64, jobToken string, start int, content string) reply {
	f.t.Helper()
	return f.send(http.MethodPatch, fmt.Sprintf("jobs/%d/trace?debug_trace=false", id), map[string]string{
		"Content-Type": "text/plain", "JOB-TOKEN": jobToken,
		"Content-Range": fmt.Sprintf("%d-%d", start, start+len(content)-1),
	}, []byte(content))
}

// runnerJob is the part of spec.Job (common/spec/spec.go) the tests read.
type runnerJob struct {
	ID      int64  `json:"id"`
	Token   string `json:"token"`
	JobInfo struct {
		Name            string `json:"name"`
		Stage           string `json:"stage"`
		PipelineID      int64  `json:"pipeline_id"`
		ProjectID       int64  `json:"project_id"`
		ProjectName     string `json:"project_name"`
		ProjectFullPath string `json:"project_full_path"`
	} `json:"job_info"`
	GitInfo struct {
		RepoURL   string   `json:"repo_url"`
		Ref       string   `json:"ref"`
		Sha       string   `json:"sha"`
		BeforeSha string   `json:"before_sha"`
		RefType   string   `json:"ref_type"`
		Refspecs  []string `json:"refspecs"`
		Depth     int      `json:"depth"`
		Protected *bool    `json:"protected"`
	} `json:"git_info"`
	RunnerInfo struct {
		Timeout int `json:"timeout"`
	} `json:"runner_info"`
	Variables []struct {
		Key    string `json:"key"`
		Value  string `json:"value"`
		Public bool   `json:"public"`
		File   bool   `json:"file"`
		Masked bool   `json:"masked"`
		Raw    bool   `json:"raw"`
	} `json:"variables"`
	Steps []struct {
		Name         string   `json:"name"`
		Script       []string `json:"script"`
		Timeout      int      `json:"timeout"`
		When         string   `json:"when"`
		AllowFailure bool     `json:"allow_failure"`
	} `json:"steps"`
	Image *struct {
		Name       string   `json:"name"`
		Entrypoint []string `json:"entrypoint"`
	} `json:"image"`
	Services []struct {
		Name      string `json:"name"`
		Alias     string `json:"alias"`
		Variables []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"variables"`
	} `json:"services"`
	Features struct {
		TraceSections  bool     `json:"trace_sections"`
		FailureReasons []string `json:"failure_reasons"`
	} `json:"features"`
	raw []byte
}

// variable is the last variable named key (the runner's lookup), and
// whether there is one.
func (j *runnerJob) variable(key string) (value string, public, masked, file bool, ok bool) {
	for _, v := range j.Variables {
		if v.Key == key {
			value, public, masked, file, ok = v.Value, v.Public, v.Masked, v.File, true
		}
	}
	return
}

// header is a response header, for messages.
func (r reply) String() string {
	return fmt.Sprintf("%d %s %v", r.Status, strings.TrimSpace(string(r.Body)), r.Header)
}

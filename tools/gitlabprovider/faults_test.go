package gitlabprovider

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/status"

	"github.com/glrf/gitlab-runner-fleet/tools/gitlab"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// POST /user/runners is never sent twice once it may have reached GitLab: a
// 5xx answer may come after GitLab created the runner, so it fails the
// create instead of leaving a second runner behind. A 429 (refused before
// any work) is retried, as client-go retries it.
func TestCreateIsNotResent(t *testing.T) {
	tests := []struct {
		name        string
		fault       gitlab.Fault
		wantErr     []string // substrings of the error; none means success
		wantRunners int
		leftover    int // failures the fault still had after the call
	}{
		{"401", gitlab.Fault{Status: 401, Count: 5},
			[]string{"couldn't create new GitLab Runner: POST ", "/api/v4/user/runners: 401 {message: 401 Unauthorized}"}, 0, 4},
		{"403", gitlab.Fault{Status: 403, Count: 5}, []string{"403 {message: 403 Forbidden}"}, 0, 4},
		{"500 is not resent", gitlab.Fault{Status: 500, Count: 2}, []string{"500 {message: 500 Internal Server Error}"}, 0, 1},
		{"502 is not resent", gitlab.Fault{Status: 502, Count: 2}, []string{"502 {message: 502 Bad Gateway}"}, 0, 1},
		{"429 is retried", gitlab.Fault{Status: 429, Count: 2}, nil, 1, 0},
		{"429 past the retries fails", gitlab.Fault{Status: 429, Count: 10}, []string{"429"}, 0, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			fault := tc.fault
			fault.Method, fault.Path = "POST", "/api/v4/user/runners"
			h.fault(fault)
			_, err := h.prov.Create(h.ctx, &pulumirpc.CreateRequest{Urn: runnerURN,
				Properties: h.props(map[string]any{"runnerType": "instance_type"})})
			if tc.wantErr == nil {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				for _, s := range tc.wantErr {
					assert.Contains(t, err.Error(), s)
				}
				assert.NotContains(t, err.Error(), adminToken, "errors must never show the token")
			}
			assert.Equal(t, tc.wantRunners, h.api.RunnerCount())
			_, f := h.apiDo("GET", "/-/standin/faults", nil)
			assert.Equal(t, float64(tc.leftover), f["count"])
		})
	}
}

// Idempotent requests are retried as client-go retries them: 5xx and 429,
// up to the retries setting.
func TestIdempotentRequestsAreRetried(t *testing.T) {
	h := newHarness(t, nil)
	h.fault(gitlab.Fault{Status: 500, Count: 2, Method: "GET", Path: "/api/v4/runners/"})
	id, _, outs := h.create(map[string]any{"runnerType": "instance_type"})
	assert.Equal(t, 1, h.api.RunnerCount(), "the read-back went through on the third try")

	h.fault(gitlab.Fault{Status: 503, Count: 3, Method: "PUT"})
	_, err := h.prov.Update(h.ctx, &pulumirpc.UpdateRequest{Id: id, Urn: runnerURN, Olds: outs,
		News: h.props(map[string]any{"runnerType": "instance_type", "description": "x"})})
	require.NoError(t, err)

	h.fault(gitlab.Fault{Status: 500, Count: 4, Method: "GET"})
	_, err = h.prov.Read(h.ctx, &pulumirpc.ReadRequest{Id: id, Urn: runnerURN, Properties: outs})
	require.Error(t, err, "3 retries, then the 4th failure is the answer")
	assert.Contains(t, err.Error(), "couldn't read runner details due to API error: GET ")
	assert.Contains(t, err.Error(), "500 {message: 500 Internal Server Error}")
}

func TestCreateRetryPolicy(t *testing.T) {
	ctx := t.Context()
	post := &http.Request{Method: http.MethodPost}
	for _, tc := range []struct {
		name  string
		resp  *http.Response
		err   error
		retry bool
	}{
		{"429", &http.Response{StatusCode: 429, Request: post}, nil, true},
		{"500", &http.Response{StatusCode: 500, Request: post}, nil, false},
		{"502", &http.Response{StatusCode: 502, Request: post}, nil, false},
		{"201", &http.Response{StatusCode: 201, Request: post}, nil, false},
		{"dial refused", nil, &url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}, true},
		{"DNS timeout", nil, &url.Error{Op: "Post", URL: "http://x", Err: &net.DNSError{Err: "timeout", IsTimeout: true}}, true},
		{"no such host", nil, &url.Error{Op: "Post", URL: "http://x", Err: &net.DNSError{Err: "no such host", IsNotFound: true}}, false},
		{"reset after sending", nil, &url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}}, false},
		{"EOF", nil, &url.Error{Op: "Post", URL: "http://x", Err: io.EOF}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			retry, err := createRetry(ctx, tc.resp, tc.err)
			assert.NoError(t, err)
			assert.Equal(t, tc.retry, retry)
		})
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	retry, err := createRetry(cancelled, &http.Response{StatusCode: 429}, nil)
	assert.False(t, retry)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestRetriesConfig(t *testing.T) {
	h := newHarness(t, map[string]any{"retries": "0"})
	h.fault(gitlab.Fault{Status: 502, Count: 1})
	_, err := h.prov.Create(h.ctx, &pulumirpc.CreateRequest{Urn: runnerURN,
		Properties: h.props(map[string]any{"runnerType": "instance_type"})})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "502")
}

func TestFaultsOnEveryOperation(t *testing.T) {
	h := newHarness(t, map[string]any{"retries": 0})
	id, _, outs := h.create(map[string]any{"runnerType": "instance_type"})
	news := h.props(map[string]any{"runnerType": "instance_type", "description": "x"})

	h.fault(gitlab.Fault{Status: 500, Count: 1})
	_, err := h.prov.Read(h.ctx, &pulumirpc.ReadRequest{Id: id, Urn: runnerURN, Properties: outs})
	assert.ErrorContains(t, err, "500")

	h.fault(gitlab.Fault{Status: 401, Count: 1})
	_, err = h.prov.Update(h.ctx, &pulumirpc.UpdateRequest{Id: id, Urn: runnerURN, Olds: outs, News: news})
	assert.ErrorContains(t, err, "401")

	h.fault(gitlab.Fault{Status: 500, Count: 1})
	_, err = h.prov.Delete(h.ctx, &pulumirpc.DeleteRequest{Id: id, Urn: runnerURN, Properties: outs})
	assert.ErrorContains(t, err, "500")
	status, _ := h.apiDo("GET", "/api/v4/runners/"+id, nil)
	assert.Equal(t, http.StatusOK, status, "a failed delete leaves the runner")
}

// A runner that was created but could not be read back is still reported to
// the engine (id and token), so it is not leaked.
func TestCreateReportsPartialFailure(t *testing.T) {
	h := newHarness(t, map[string]any{"retries": 0})
	h.fault(gitlab.Fault{Status: 500, Count: 1, Method: "GET", Path: "/api/v4/runners/"})
	_, err := h.prov.Create(h.ctx, &pulumirpc.CreateRequest{Urn: runnerURN,
		Properties: h.props(map[string]any{"runnerType": "instance_type"})})
	require.Error(t, err)
	assert.Equal(t, 1, h.api.RunnerCount())
	st, ok := status.FromError(err)
	require.True(t, ok)
	var detail *pulumirpc.ErrorResourceInitFailed
	for _, d := range st.Details() {
		if x, ok := d.(*pulumirpc.ErrorResourceInitFailed); ok {
			detail = x
		}
	}
	require.NotNil(t, detail, "the error must carry ErrorResourceInitFailed")
	assert.Equal(t, "1", detail.Id)
	outs := unmarshal(t, detail.Properties)
	assert.False(t, outs.ContainsUnknowns(), "the engine refuses unknown values after a create: %v", outs)
	require.True(t, outs[pToken].IsSecret())
	assert.Regexp(t, tokenRE, outs[pToken].SecretValue().Element.StringValue())
}

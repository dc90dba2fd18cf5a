package gitlabprovider

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/status"

	"example.com/gitlab-runner-fleet/tools/gitlab"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func TestAPIFaults(t *testing.T) {
	tests := []struct {
		name        string
		fault       gitlab.Fault
		wantErr     []string // substrings of the error; none means success
		wantRunners int
		leftover    int // failures the fault still had after the call
	}{
		{"401 is not retried", gitlab.Fault{Status: 401, Count: 5},
			[]string{"401", `"401 Unauthorized"`, "GITLAB_TOKEN"}, 0, 4},
		{"403 is not retried", gitlab.Fault{Status: 403, Count: 5},
			[]string{"403", "create_runner"}, 0, 4},
		{"500 twice is retried through", gitlab.Fault{Status: 500, Count: 2}, nil, 1, 0},
		{"429 is retried", gitlab.Fault{Status: 429, Count: 1}, nil, 1, 0},
		{"500 past the retries fails", gitlab.Fault{Status: 500, Count: 10},
			[]string{"500", `"500 Internal Server Error"`, "after 3 retries"}, 0, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.fault(tc.fault)
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
	require.True(t, outs[pToken].IsSecret())
	assert.Regexp(t, tokenRE, outs[pToken].SecretValue().Element.StringValue())
}

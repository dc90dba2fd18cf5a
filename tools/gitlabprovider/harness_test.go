package gitlabprovider

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	gl "gitlab.com/gitlab-org/api/client-go"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/glrf/gitlab-runner-fleet/tools/gitlab"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const (
	testVersion = "8.11.0+offline.standin"
	adminToken  = "glpat-provider-test-admin-0000000000"
	runnerURN   = "urn:pulumi:dev::fleet::gitlab:index/userRunner:UserRunner::runner"
)

// harness is a provider configured against an in-process GitLab stand-in.
type harness struct {
	t    *testing.T
	ctx  context.Context
	api  *gitlab.Server
	ts   *httptest.Server
	prov *Provider
}

// newHarness starts the stand-in and configures a provider with extra
// configuration on top of baseUrl and token.
func newHarness(t *testing.T, extra map[string]any) *harness {
	t.Helper()
	api, err := gitlab.New(gitlab.Config{Tokens: []gitlab.PersonalAccessToken{
		{Name: "admin", Token: adminToken, Scopes: gitlab.AdminScopes},
	}})
	require.NoError(t, err)
	ts := httptest.NewServer(api)
	t.Cleanup(ts.Close)
	h := &harness{t: t, ctx: context.Background(), api: api, ts: ts, prov: newTestProvider()}
	cfg := map[string]any{"baseUrl": ts.URL + "/api/v4/", "token": secret(adminToken)}
	for k, v := range extra {
		cfg[k] = v
	}
	_, err = h.prov.Configure(h.ctx, &pulumirpc.ConfigureRequest{Args: h.props(cfg), AcceptSecrets: true})
	require.NoError(t, err)
	return h
}

// newTestProvider is a provider that retries without waiting long.
func newTestProvider() *Provider {
	p := New(nil, testVersion)
	p.clientOptions = []gl.ClientOptionFunc{gl.WithCustomBackoff(func(time.Duration, time.Duration, int, *http.Response) time.Duration {
		return time.Millisecond
	})}
	return p
}

// secret marks a value as secret in props maps.
type secretValue struct{ v any }

func secret(v any) secretValue { return secretValue{v} }

// unknownValue marks a value as not known yet.
type unknownValue struct{}

func toPV(v any) resource.PropertyValue {
	switch x := v.(type) {
	case secretValue:
		return resource.MakeSecret(toPV(x.v))
	case unknownValue:
		return resource.MakeComputed(resource.NewStringProperty(""))
	case resource.PropertyValue:
		return x
	case []string:
		return stringList(x)
	case int:
		return resource.NewNumberProperty(float64(x))
	case map[string]any:
		m := resource.PropertyMap{}
		for k, e := range x {
			m[resource.PropertyKey(k)] = toPV(e)
		}
		return resource.NewObjectProperty(m)
	}
	return resource.NewPropertyValue(v)
}

// props marshals a map as the engine sends it.
func (h *harness) props(m map[string]any) *structpb.Struct {
	h.t.Helper()
	return marshal(h.t, m)
}

func marshal(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	pm := resource.PropertyMap{}
	for k, v := range m {
		pm[resource.PropertyKey(k)] = toPV(v)
	}
	s, err := plugin.MarshalProperties(pm, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true})
	require.NoError(t, err)
	return s
}

func unmarshal(t *testing.T, s *structpb.Struct) resource.PropertyMap {
	t.Helper()
	m, err := plugin.UnmarshalProperties(s, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true})
	require.NoError(t, err)
	return m
}

// create runs Check then Create and returns the id and outputs.
func (h *harness) create(inputs map[string]any) (string, resource.PropertyMap, *structpb.Struct) {
	h.t.Helper()
	chk, err := h.prov.Check(h.ctx, &pulumirpc.CheckRequest{Urn: runnerURN, News: h.props(inputs)})
	require.NoError(h.t, err)
	require.Empty(h.t, chk.Failures)
	res, err := h.prov.Create(h.ctx, &pulumirpc.CreateRequest{Urn: runnerURN, Properties: chk.Inputs})
	require.NoError(h.t, err)
	require.NotEmpty(h.t, res.Id)
	return res.Id, unmarshal(h.t, res.Properties), res.Properties
}

// apiDo calls the stand-in directly with the admin token.
func (h *harness) apiDo(method, path string, body any) (int, map[string]any) {
	h.t.Helper()
	var rd *strings.Reader
	if body != nil {
		data, err := json.Marshal(body)
		require.NoError(h.t, err)
		rd = strings.NewReader(string(data))
	} else {
		rd = strings.NewReader("")
	}
	req, err := http.NewRequest(method, h.ts.URL+path, rd)
	require.NoError(h.t, err)
	req.Header.Set("PRIVATE-TOKEN", adminToken)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// fault injects a stand-in fault.
func (h *harness) fault(f gitlab.Fault) {
	h.t.Helper()
	status, _ := h.apiDo("POST", "/-/standin/faults", f)
	require.Equal(h.t, http.StatusCreated, status)
}

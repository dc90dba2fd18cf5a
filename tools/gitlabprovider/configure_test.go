package gitlabprovider

import (
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/glrf/gitlab-runner-fleet/tools/gitlab"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// standinWith starts a stand-in with the admin token and one create-only
// token, behind wrap (when not nil).
func standinWith(t *testing.T, tlsServer bool, wrap func(http.Handler) http.Handler) *httptest.Server {
	t.Helper()
	api, err := gitlab.New(gitlab.Config{Tokens: []gitlab.PersonalAccessToken{
		{Name: "admin", Token: adminToken, Scopes: gitlab.AdminScopes},
		{Name: "creator", Token: "glpat-create-only-000000000000", Scopes: []string{gitlab.ScopeCreateRunner}},
	}})
	require.NoError(t, err)
	var h http.Handler = api
	if wrap != nil {
		h = wrap(h)
	}
	ts := httptest.NewUnstartedServer(h)
	if tlsServer {
		ts.StartTLS()
	} else {
		ts.Start()
	}
	t.Cleanup(ts.Close)
	return ts
}

func configure(t *testing.T, p *Provider, cfg map[string]any) error {
	t.Helper()
	_, err := p.Configure(t.Context(), &pulumirpc.ConfigureRequest{Args: marshal(t, cfg), AcceptSecrets: true})
	return err
}

func createInstanceRunner(t *testing.T, p *Provider) error {
	t.Helper()
	_, err := p.Create(t.Context(), &pulumirpc.CreateRequest{Urn: runnerURN,
		Properties: marshal(t, map[string]any{"runnerType": "instance_type"})})
	return err
}

func TestConfigureEarlyAuthCheck(t *testing.T) {
	ts := standinWith(t, false, nil)
	base := ts.URL + "/api/v4/"
	tests := []struct {
		name    string
		cfg     map[string]any
		wantErr []string
	}{
		{"good token", map[string]any{"baseUrl": base, "token": secret(adminToken)}, nil},
		{"wrong token", map[string]any{"baseUrl": base, "token": secret("glpat-wrong-000000000000")},
			[]string{"early authentication check", "401", "GITLAB_TOKEN"}},
		{"token without read_user", map[string]any{"baseUrl": base, "token": "glpat-create-only-000000000000"},
			[]string{"403"}},
		{"no token", map[string]any{"baseUrl": base}, []string{"no token configured", "GITLAB_TOKEN"}},
		{"check off", map[string]any{"baseUrl": base, "token": "glpat-wrong-000000000000", "earlyAuthCheck": false}, nil},
		{"check off as a string", map[string]any{"baseUrl": base, "earlyAuthCheck": "false"}, nil},
		{"bad retries", map[string]any{"baseUrl": base, "token": adminToken, "retries": "many"}, []string{"retries must be an integer"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := configure(t, newTestProvider(), tc.cfg)
			if tc.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, s := range tc.wantErr {
				assert.Contains(t, err.Error(), s)
			}
			assert.NotContains(t, err.Error(), "glpat-wrong-000000000000")
		})
	}

	// With the check off, a wrong token fails at the first call instead.
	p := newTestProvider()
	require.NoError(t, configure(t, p, map[string]any{"baseUrl": base, "token": "glpat-wrong-000000000000", "earlyAuthCheck": false}))
	assert.ErrorContains(t, createInstanceRunner(t, p), "401")
}

func TestConfigureFromEnvironment(t *testing.T) {
	ts := standinWith(t, false, nil)
	t.Setenv("GITLAB_BASE_URL", ts.URL+"/api/v4/")
	t.Setenv("GITLAB_TOKEN", adminToken)
	p := newTestProvider()
	require.NoError(t, configure(t, p, map[string]any{}))
	require.NoError(t, createInstanceRunner(t, p))

	// Configuration wins over the environment.
	t.Setenv("GITLAB_TOKEN", "glpat-wrong-000000000000")
	p = newTestProvider()
	require.NoError(t, configure(t, p, map[string]any{"token": secret(adminToken)}))
}

func TestConfigureFromVariables(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	ts := standinWith(t, false, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen = append(seen, r.Header.Get("X-Fleet"))
			mu.Unlock()
			next.ServeHTTP(w, r)
		})
	})
	p := newTestProvider()
	// Older engines send string variables; the api/v4/ suffix is added.
	//lint:ignore SA1019 the provider must still read what older engines send
	_, err := p.Configure(t.Context(), &pulumirpc.ConfigureRequest{Variables: map[string]string{
		"gitlab:config:baseUrl":        ts.URL + "/",
		"gitlab:config:token":          adminToken,
		"gitlab:config:earlyAuthCheck": "true",
		"gitlab:config:retries":        "1",
		"gitlab:config:headers":        `{"X-Fleet":"yes"}`,
	}})
	require.NoError(t, err)
	require.NoError(t, createInstanceRunner(t, p))
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, seen)
	for _, v := range seen {
		assert.Equal(t, "yes", v, "configured headers go with every request")
	}
}

func TestConfigureWithUnknownValues(t *testing.T) {
	p := newTestProvider()
	require.NoError(t, configure(t, p, map[string]any{"baseUrl": unknownValue{}, "token": secret(adminToken)}))
	res, err := p.Create(t.Context(), &pulumirpc.CreateRequest{Urn: runnerURN, Preview: true,
		Properties: marshal(t, map[string]any{"runnerType": "instance_type"})})
	require.NoError(t, err)
	assert.NotNil(t, res.Properties)
	assert.ErrorContains(t, createInstanceRunner(t, p), "not known yet")
}

func TestUnconfiguredProvider(t *testing.T) {
	assert.ErrorContains(t, createInstanceRunner(t, newTestProvider()), "not configured")
}

func TestConfigureTLS(t *testing.T) {
	ts := standinWith(t, true, nil)
	base := ts.URL + "/api/v4/"
	err := configure(t, newTestProvider(), map[string]any{"baseUrl": base, "token": adminToken, "retries": 0})
	require.Error(t, err, "an unknown CA is refused")
	assert.Contains(t, err.Error(), "certificate")

	require.NoError(t, configure(t, newTestProvider(), map[string]any{"baseUrl": base, "token": adminToken, "insecure": true}))

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600))
	require.NoError(t, configure(t, newTestProvider(), map[string]any{"baseUrl": base, "token": adminToken, "cacertFile": caFile}))

	err = configure(t, newTestProvider(), map[string]any{"baseUrl": base, "token": adminToken, "cacertFile": filepath.Join(t.TempDir(), "missing.pem")})
	assert.ErrorContains(t, err, "cacertFile")
}

func TestCheckConfig(t *testing.T) {
	tests := []struct {
		name string
		news map[string]any
		want map[string]string
	}{
		{"good", map[string]any{"baseUrl": "https://gitlab.example.com/api/v4/", "token": secret("t"), "retries": 5,
			"headers": map[string]any{"X-A": "b"}, "earlyAuthCheck": true, "insecure": false}, nil},
		{"strings as Pulumi config passes them", map[string]any{"retries": "5", "headers": `{"X-A":"b"}`, "earlyAuthCheck": "false"}, nil},
		{"unknown values", map[string]any{"baseUrl": unknownValue{}, "token": unknownValue{}}, nil},
		{"no trailing slash, as client-go accepts it", map[string]any{"baseUrl": "https://gitlab.example.com/api/v4"}, nil},
		{"no api path, as client-go accepts it", map[string]any{"baseUrl": "https://gitlab.example.com"}, nil},
		{"not a URL", map[string]any{"baseUrl": "gitlab.example.com/"}, map[string]string{"baseUrl": "http(s) URL"}},
		{"bad retries", map[string]any{"retries": -1}, map[string]string{"retries": "negative"}},
		{"bad bool", map[string]any{"insecure": "maybe"}, map[string]string{"insecure": "boolean"}},
		{"bad headers", map[string]any{"headers": "[1]"}, map[string]string{"headers": "map of strings"}},
		{"cert without key", map[string]any{"clientCert": "/c.pem"}, map[string]string{"clientKey": "together"}},
	}
	p := newTestProvider()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			news := marshal(t, tc.news)
			res, err := p.CheckConfig(t.Context(), &pulumirpc.CheckRequest{Urn: "urn:pulumi:dev::fleet::pulumi:providers:gitlab::default", News: news})
			require.NoError(t, err)
			got := map[string]string{}
			for _, f := range res.Failures {
				got[f.Property] = f.Reason
			}
			require.Len(t, got, len(tc.want), "failures: %v", got)
			for prop, part := range tc.want {
				assert.Contains(t, got[prop], part)
			}
			assert.Equal(t, news, res.Inputs)
		})
	}
}

func TestDiffConfig(t *testing.T) {
	p := newTestProvider()
	olds := map[string]any{"baseUrl": "https://a/api/v4/", "token": secret("one")}
	res, err := p.DiffConfig(t.Context(), &pulumirpc.DiffRequest{Olds: marshal(t, olds), News: marshal(t, olds)})
	require.NoError(t, err)
	assert.Equal(t, pulumirpc.DiffResponse_DIFF_NONE, res.Changes)

	res, err = p.DiffConfig(t.Context(), &pulumirpc.DiffRequest{Olds: marshal(t, olds),
		News: marshal(t, map[string]any{"baseUrl": "https://b/api/v4/", "token": secret("one"), "retries": 1})})
	require.NoError(t, err)
	assert.Equal(t, pulumirpc.DiffResponse_DIFF_SOME, res.Changes)
	assert.ElementsMatch(t, []string{"baseUrl", "retries"}, res.Diffs)
	assert.Empty(t, res.Replaces, "a configuration change never replaces the runners")
}

func TestCancel(t *testing.T) {
	ts := standinWith(t, false, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/v4/user/runners" {
				// GitLab hangs. The body must be read for the server to
				// notice the client going away.
				_, _ = io.Copy(io.Discard, r.Body)
				select {
				case <-r.Context().Done():
				case <-time.After(10 * time.Second):
				}
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	p := newTestProvider()
	require.NoError(t, configure(t, p, map[string]any{"baseUrl": ts.URL + "/api/v4/", "token": adminToken}))
	done := make(chan error, 1)
	go func() { done <- createInstanceRunner(t, p) }()
	time.Sleep(50 * time.Millisecond)
	_, err := p.Cancel(t.Context(), &emptypb.Empty{})
	require.NoError(t, err)
	select {
	case err := <-done:
		assert.ErrorContains(t, err, "context canceled")
	case <-time.After(5 * time.Second):
		t.Fatal("Create did not stop after Cancel")
	}
}

// client-go completes baseUrl: with or without the trailing slash, with or
// without api/v4, the provider reaches the same API.
func TestBaseURLForms(t *testing.T) {
	ts := standinWith(t, false, nil)
	for _, base := range []string{ts.URL + "/api/v4/", ts.URL + "/api/v4", ts.URL + "/", ts.URL} {
		t.Run(base, func(t *testing.T) {
			p := newTestProvider()
			require.NoError(t, configure(t, p, map[string]any{"baseUrl": base, "token": adminToken}))
			require.NoError(t, createInstanceRunner(t, p))
		})
	}
}

package gitlab

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Tokens every test server accepts.
const (
	adminTok   = "glpat-admin-aaaaaaaaaaaaaaaaaaaa"
	creatorTok = "glpat-creator-bbbbbbbbbbbbbbbbbb"
	managerTok = "glpat-manager-cccccccccccccccccc"
	userTok    = "glpat-readuser-dddddddddddddddddd"
	readAPITok = "glpat-readapi-eeeeeeeeeeeeeeeeee"
)

func testTokens() []PersonalAccessToken {
	return []PersonalAccessToken{
		{Name: "admin", Token: adminTok, Scopes: AdminScopes},
		{Name: "creator", Token: creatorTok, Scopes: []string{ScopeCreateRunner}},
		{Name: "manager", Token: managerTok, Scopes: []string{ScopeManageRunner}},
		{Name: "user", Token: userTok, Scopes: []string{ScopeReadUser}},
		{Name: "readapi", Token: readAPITok, Scopes: []string{ScopeReadAPI}},
	}
}

// standin is a Server behind an httptest server.
type standin struct {
	t   *testing.T
	srv *Server
	ts  *httptest.Server
}

func newStandin(t *testing.T, statePath string) *standin {
	t.Helper()
	srv, err := New(Config{StatePath: statePath, Tokens: testTokens()})
	require.NoError(t, err)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &standin{t: t, srv: srv, ts: ts}
}

// response is a decoded answer.
type response struct {
	Status int
	Header http.Header
	Raw    []byte
}

// JSON decodes the body into a generic value.
func (r response) JSON() any {
	var v any
	if len(bytes.TrimSpace(r.Raw)) > 0 {
		if err := json.Unmarshal(r.Raw, &v); err != nil {
			panic(err)
		}
	}
	return v
}

// Obj decodes the body as an object.
func (r response) Obj() map[string]any {
	m, _ := r.JSON().(map[string]any)
	return m
}

// do sends body as JSON (a string is sent as is, url.Values form-encoded).
func (s *standin) do(method, path, token string, body any) response {
	s.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		data, err := json.Marshal(b)
		require.NoError(s.t, err)
		rd, ct = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequest(method, s.ts.URL+path, rd)
	require.NoError(s.t, err)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("PRIVATE-TOKEN", token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(s.t, err)
	return response{Status: res.StatusCode, Header: res.Header, Raw: raw}
}

// create makes a runner and returns its id and token.
func (s *standin) create(body any) (int64, string) {
	s.t.Helper()
	res := s.do("POST", "/api/v4/user/runners", adminTok, body)
	require.Equal(s.t, http.StatusCreated, res.Status, string(res.Raw))
	o := res.Obj()
	return int64(o["id"].(float64)), o["token"].(string)
}

func newTestServer(t *testing.T, srv *Server) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts
}

package gitlab

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVerify(t *testing.T) {
	s := newStandin(t, "")
	id, tok := s.create(map[string]any{"runner_type": "instance_type"})
	tests := []struct {
		name     string
		body     any
		want     int
		wantBody string
	}{
		{"valid with system_id", map[string]any{"token": tok, "system_id": "s_0123456789ab"},
			200, fmt.Sprintf(`{"id":%d,"token":%q,"token_expires_at":null}`, id, tok)},
		{"valid form", url.Values{"token": {tok}, "system_id": {"r_ABCDEFabcdef"}},
			200, fmt.Sprintf(`{"id":%d,"token":%q,"token_expires_at":null}`, id, tok)},
		{"valid without system_id", map[string]any{"token": tok},
			200, fmt.Sprintf(`{"id":%d,"token":%q,"token_expires_at":null}`, id, tok)},
		{"unknown token", map[string]any{"token": "glrt-unknown", "system_id": "s_0123456789ab"}, 403, `{"message":"403 Forbidden"}`},
		{"missing token", map[string]any{"system_id": "s_0123456789ab"}, 400, `{"error":"token is missing"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// No PRIVATE-TOKEN: the runner token authenticates.
			res := s.do("POST", "/api/v4/runners/verify", "", tc.body)
			assert.Equal(t, tc.want, res.Status)
			assert.JSONEq(t, tc.wantBody, string(res.Raw))
		})
	}

	// Two system ids were recorded, once each, and the runner is online.
	s.do("POST", "/api/v4/runners/verify", "", map[string]any{"token": tok, "system_id": "s_0123456789ab"})
	res := s.do("GET", fmt.Sprintf("/api/v4/runners/%d/managers", id), managerTok, nil)
	require.Equal(t, 200, res.Status)
	list := res.JSON().([]any)
	require.Len(t, list, 2)
	m := list[0].(map[string]any)
	assert.Equal(t, "s_0123456789ab", m["system_id"])
	assert.Equal(t, "online", m["status"])
	for _, key := range []string{"id", "created_at", "contacted_at", "ip_address", "version", "revision", "platform", "architecture"} {
		assert.Contains(t, m, key)
	}
	o := s.do("GET", fmt.Sprintf("/api/v4/runners/%d", id), adminTok, nil).Obj()
	assert.Equal(t, "online", o["status"])
	assert.Equal(t, true, o["online"])
	assert.NotNil(t, o["contacted_at"])
}

func TestJobRequestAndUnregister(t *testing.T) {
	s := newStandin(t, "")
	id, tok := s.create(map[string]any{"runner_type": "instance_type"})
	res := s.do("POST", "/api/v4/jobs/request", "", map[string]any{
		"token": tok, "system_id": "s_aaaaaaaaaaaa", "info": map[string]any{"version": "18.6.0", "architecture": "amd64"},
	})
	assert.Equal(t, 204, res.Status)
	assert.NotEmpty(t, res.Header.Get("X-GitLab-Last-Update"))
	assert.Equal(t, 403, s.do("POST", "/api/v4/jobs/request", "", map[string]any{"token": "glrt-x"}).Status)

	managers := s.do("GET", fmt.Sprintf("/api/v4/runners/%d/managers", id), adminTok, nil).JSON().([]any)
	require.Len(t, managers, 1)
	assert.Equal(t, "18.6.0", managers[0].(map[string]any)["version"])

	assert.Equal(t, 404, s.do("DELETE", "/api/v4/runners/managers", "", map[string]any{"token": tok, "system_id": "s_bbbbbbbbbbbb"}).Status)
	assert.Equal(t, 400, s.do("DELETE", "/api/v4/runners/managers", "", map[string]any{"token": tok}).Status)
	assert.Equal(t, 204, s.do("DELETE", "/api/v4/runners/managers", "", map[string]any{"token": tok, "system_id": "s_aaaaaaaaaaaa"}).Status)
	assert.Len(t, s.do("GET", fmt.Sprintf("/api/v4/runners/%d/managers", id), adminTok, nil).JSON(), 0)
	// Unregistering a manager keeps the runner.
	assert.Equal(t, 200, s.do("GET", fmt.Sprintf("/api/v4/runners/%d", id), adminTok, nil).Status)
}

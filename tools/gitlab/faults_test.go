package gitlab

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFaultInjection(t *testing.T) {
	s := newStandin(t, "")
	id, _ := s.create(map[string]any{"runner_type": "instance_type"})
	path := fmt.Sprintf("/api/v4/runners/%d", id)

	res := s.do("POST", "/-/standin/faults", adminTok, map[string]any{"status": 500, "count": 2})
	require.Equal(t, 201, res.Status, string(res.Raw))
	for range 2 {
		res = s.do("GET", path, adminTok, nil)
		assert.Equal(t, 500, res.Status)
		assert.JSONEq(t, `{"message":"500 Internal Server Error"}`, string(res.Raw))
	}
	assert.Equal(t, 200, s.do("GET", path, adminTok, nil).Status)

	// A 401 fault fails even a well-authenticated request, and state stays.
	s.do("POST", "/-/standin/faults", adminTok, map[string]any{"status": 401})
	res = s.do("DELETE", path, adminTok, nil)
	assert.Equal(t, 401, res.Status)
	assert.JSONEq(t, `{"message":"401 Unauthorized"}`, string(res.Raw))
	assert.Equal(t, 1, s.srv.RunnerCount())

	// Method and path narrow the fault; other requests pass.
	s.do("POST", "/-/standin/faults", adminTok, map[string]any{"status": 503, "count": 1, "method": "DELETE", "path": "/api/v4/runners/"})
	assert.Equal(t, 200, s.do("GET", path, adminTok, nil).Status)
	assert.Equal(t, map[string]any{"status": float64(503), "count": float64(1), "method": "DELETE", "path": "/api/v4/runners/"},
		s.do("GET", "/-/standin/faults", adminTok, nil).Obj())
	assert.Equal(t, 503, s.do("DELETE", path, adminTok, nil).Status)
	assert.Equal(t, 204, s.do("DELETE", path, adminTok, nil).Status)

	// DELETE clears; the control endpoint and /-/health are never failed.
	s.do("POST", "/-/standin/faults", adminTok, map[string]any{"status": 500, "count": 5})
	assert.Equal(t, 200, s.do("GET", "/-/health", "", nil).Status)
	assert.Equal(t, 204, s.do("DELETE", "/-/standin/faults", adminTok, nil).Status)
	assert.Equal(t, 200, s.do("GET", "/api/v4/user", adminTok, nil).Status)
	assert.Equal(t, map[string]any{"status": float64(0), "count": float64(0)}, s.do("GET", "/-/standin/faults", adminTok, nil).Obj())
}

func TestFaultControlValidation(t *testing.T) {
	s := newStandin(t, "")
	tests := []struct {
		name, token string
		body        any
		want        int
	}{
		{"no token", "", map[string]any{"status": 500}, 401},
		{"not admin", creatorTok, map[string]any{"status": 500}, 403},
		{"status too low", adminTok, map[string]any{"status": 200}, 400},
		{"negative count", adminTok, map[string]any{"status": 500, "count": -1}, 400},
		{"unknown field", adminTok, map[string]any{"status": 500, "times": 1}, 400},
		{"ok", adminTok, map[string]any{"status": 429}, 201},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, s.do("POST", "/-/standin/faults", tc.token, tc.body).Status)
		})
	}
	assert.Equal(t, 403, s.do("DELETE", "/-/standin/faults", managerTok, nil).Status)
}

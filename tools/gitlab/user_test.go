package gitlab

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUserAndVersion(t *testing.T) {
	s := newStandin(t, "")
	tests := []struct {
		name, path, token string
		want              int
	}{
		{"user admin", "/api/v4/user", adminTok, 200},
		{"user read_user", "/api/v4/user", userTok, 200},
		{"user create_runner only", "/api/v4/user", creatorTok, 403},
		{"user no token", "/api/v4/user", "", 401},
		{"version any scope", "/api/v4/version", creatorTok, 200},
		{"version no token", "/api/v4/version", "", 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, s.do("GET", tc.path, tc.token, nil).Status)
		})
	}
	u := s.do("GET", "/api/v4/user", adminTok, nil).Obj()
	assert.Equal(t, "root", u["username"])
	assert.Equal(t, true, u["is_admin"])
	v := s.do("GET", "/api/v4/version", adminTok, nil).Obj()
	assert.Equal(t, "18.6.0-standin", v["version"])
	assert.NotEmpty(t, v["revision"])
}

func TestAlternativeAuthentication(t *testing.T) {
	s := newStandin(t, "")
	req, err := http.NewRequest("GET", s.ts.URL+"/api/v4/user", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+adminTok)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, 200, res.StatusCode)

	assert.Equal(t, 200, s.do("GET", "/api/v4/user?private_token="+adminTok, "", nil).Status)
	assert.Equal(t, 401, s.do("GET", "/api/v4/user?private_token=glpat-wrong", "", nil).Status)
}

func TestHealth(t *testing.T) {
	s := newStandin(t, "")
	res := s.do("GET", "/-/health", "", nil)
	assert.Equal(t, 200, res.Status)
	assert.Equal(t, "GitLab OK", string(res.Raw))
}

func TestParseTokenFlag(t *testing.T) {
	tests := []struct {
		in      string
		want    PersonalAccessToken
		wantErr bool
	}{
		{"ci=glpat-abc:create_runner,manage_runner", PersonalAccessToken{Name: "ci", Token: "glpat-abc", Scopes: []string{"create_runner", "manage_runner"}}, false},
		{"admin=glpat-x:api", PersonalAccessToken{Name: "admin", Token: "glpat-x", Scopes: []string{"api"}}, false},
		{"dev=glpat-x:create_runner@developer", PersonalAccessToken{Name: "dev", Token: "glpat-x", Scopes: []string{"create_runner"}, User: "developer"}, false},
		{"dev=glpat-x:api@", PersonalAccessToken{}, true},
		{"noscope=glpat-x", PersonalAccessToken{}, true},
		{"noscope=glpat-x:", PersonalAccessToken{}, true},
		{"=glpat-x:api", PersonalAccessToken{}, true},
		{"glpat-x:api", PersonalAccessToken{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTokenFlag(tc.in)
			if tc.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestNewRejectsBadTokens(t *testing.T) {
	_, err := New(Config{Tokens: []PersonalAccessToken{{Name: "x", Token: "", Scopes: []string{"api"}}}})
	assert.Error(t, err)
	_, err = New(Config{Tokens: []PersonalAccessToken{{Name: "x", Token: "glpat-x"}}})
	assert.Error(t, err)
	_, err = New(Config{Tokens: []PersonalAccessToken{{Name: "x", Token: "glpat-x", Scopes: []string{"api"}, User: "nobody"}}})
	assert.ErrorContains(t, err, `user "nobody" is not in the seed`)
}

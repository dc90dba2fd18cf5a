package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadOutputsAsCmdLocalPrintsThem(t *testing.T) {
	fleets, err := readOutputs(strings.NewReader(`outputs:
{
  "fleets": {
    "dev-builds": {"jobNamespace": "gitlab-runner-dev-builds-jobs", "namespace": "gitlab-runner-dev-builds",
      "rollout": "complete: 2 of 2 managers ready", "runnerId": "1", "statefulSetName": "dev-builds", "tokenRotatesAfter": ""}
  }
}
`))
	require.NoError(t, err)
	assert.Equal(t, map[string]fleetOutput{"dev-builds": {RunnerID: "1", Namespace: "gitlab-runner-dev-builds", StatefulSetName: "dev-builds"}}, fleets)

	_, err = readOutputs(strings.NewReader("outputs:\n{}\n"))
	assert.ErrorContains(t, err, "name no fleet")
	_, err = readOutputs(strings.NewReader("error: no stack\n"))
	assert.ErrorContains(t, err, "pipe `go run ./cmd/local outputs` in")
}

// fakeGitlab answers GET /api/v4/runners/1/managers with managers whose
// contacts advance as polling would, but for those in stale.
type fakeGitlab struct {
	mu    sync.Mutex
	calls int
	stale map[string]bool
	ids   []string
}

func (f *fakeGitlab) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v4/runners/1/managers" || r.Header.Get("PRIVATE-TOKEN") != "admin" {
		http.Error(w, `{"message":"404 Not Found"}`, http.StatusNotFound)
		return
	}
	f.mu.Lock()
	f.calls++
	var out []manager
	for _, id := range f.ids {
		contact := time.Unix(int64(f.calls), 0).UTC().Format(time.RFC3339)
		if f.stale[id] {
			contact = time.Unix(0, 0).UTC().Format(time.RFC3339)
		}
		out = append(out, manager{SystemID: id, Status: "online", Version: "19.4.0", ContactedAt: contact})
	}
	f.mu.Unlock()
	_ = json.NewEncoder(w).Encode(out)
}

func TestWaitPollingWantsContactsThatAdvance(t *testing.T) {
	fake := &fakeGitlab{ids: []string{"s_000000000001", "s_000000000002"}}
	server := httptest.NewServer(fake)
	defer server.Close()
	gitlab := gitlabClient{base: server.URL + "/api/v4/", token: "admin"}

	polling, err := waitPolling(gitlab, "1", 2, time.Now().Add(time.Minute))
	require.NoError(t, err)
	assert.Len(t, polling, 2)

	fake.stale = map[string]bool{"s_000000000002": true}
	_, err = waitPolling(gitlab, "1", 2, time.Now().Add(3*time.Second))
	assert.EqualError(t, err, "1 of 2 managers online and polling (GitLab knows 2)", "a manager that stopped contacting GitLab does not poll")

	_, err = waitPolling(gitlab, "2", 1, time.Now())
	assert.ErrorContains(t, err, "404 Not Found")
}

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

// fakeGitlab answers GET /api/v4/runners/1/managers: managers created at
// second 0, those in polling contacted later.
type fakeGitlab struct {
	mu      sync.Mutex
	polling map[string]bool
	ids     []string
}

func (f *fakeGitlab) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v4/runners/1/managers" || r.Header.Get("PRIVATE-TOKEN") != "admin" {
		http.Error(w, `{"message":"404 Not Found"}`, http.StatusNotFound)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []map[string]any
	for _, id := range f.ids {
		created := time.Unix(0, 0).UTC()
		contacted := created
		if f.polling[id] {
			contacted = created.Add(2 * time.Second)
		}
		out = append(out, map[string]any{"system_id": id, "status": "online", "version": "19.4.0",
			"created_at": created.Format(time.RFC3339Nano), "contacted_at": contacted.Format(time.RFC3339Nano)})
	}
	_ = json.NewEncoder(w).Encode(out)
}

func TestWaitPollingWantsAJobRequestAfterTheTokenCheck(t *testing.T) {
	fake := &fakeGitlab{ids: []string{"s_000000000001", "s_000000000002"}, polling: map[string]bool{"s_000000000001": true, "s_000000000002": true}}
	server := httptest.NewServer(fake)
	defer server.Close()
	gitlab := gitlabClient{base: server.URL + "/api/v4/", token: "admin"}

	polling, err := waitPolling(gitlab, "1", 2, time.Now().Add(time.Minute))
	require.NoError(t, err)
	assert.Len(t, polling, 2)

	fake.mu.Lock()
	fake.polling["s_000000000002"] = false
	fake.mu.Unlock()
	_, err = waitPolling(gitlab, "1", 2, time.Now().Add(3*time.Second))
	assert.EqualError(t, err, "1 of 2 managers online and polling (GitLab knows 2)", "a manager that only verified its token does not poll")

	_, err = waitPolling(gitlab, "2", 1, time.Now())
	assert.ErrorContains(t, err, "404 Not Found")
}

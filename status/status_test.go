package status_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
	"golang.org/x/oauth2"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/glrf/gitlab-runner-fleet/components/entrypoint"
	"github.com/glrf/gitlab-runner-fleet/status"
)

var now = time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)

// cluster holds fleet builds: two managers, builds-0 ready, builds-1 not.
func cluster() *fake.Clientset {
	selector := map[string]string{"app.kubernetes.io/instance": "builds"}
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "builds", Namespace: "runners", Generation: 1},
		Spec:       appsv1.StatefulSetSpec{Replicas: ptr.To(int32(2)), Selector: &metav1.LabelSelector{MatchLabels: selector}},
		Status: appsv1.StatefulSetStatus{ObservedGeneration: 1, Replicas: 2, ReadyReplicas: 1, UpdatedReplicas: 2,
			CurrentRevision: "r1", UpdateRevision: "r1"},
	}
	pod := func(name string, ready bool, restarts int32) *corev1.Pod {
		status := corev1.ConditionFalse
		if ready {
			status = corev1.ConditionTrue
		}
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "runners", Labels: map[string]string{"app.kubernetes.io/instance": "builds", "controller-revision-hash": "r1"}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}},
				ContainerStatuses: []corev1.ContainerStatus{{Name: "runner", RestartCount: restarts}}},
		}
	}
	return fake.NewClientset(sts, pod("builds-0", true, 0), pod("builds-1", false, 3))
}

// fakeGitlab serves runner 42 as GitLab's REST API does: its details, its
// managers and its jobs. running is the jobs it runs.
type fakeGitlab struct {
	*httptest.Server
	mu      sync.Mutex
	running []int
	paused  bool
	asked   int
}

func newFakeGitlab(t *testing.T) *fakeGitlab {
	f := &fakeGitlab{}
	contacted := now.Add(-12 * time.Second)
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer glpat-reader" {
			w.WriteHeader(401)
			_, _ = w.Write([]byte(`{"message":"401 Unauthorized"}`))
			return
		}
		var body any
		switch r.URL.Path {
		case "/api/v4/runners/42":
			status := "online"
			if f.paused {
				status = "paused"
			}
			body = map[string]any{"id": 42, "runner_type": "group_type", "paused": f.paused, "status": status, "online": true, "contacted_at": contacted}
		case "/api/v4/runners/42/managers":
			body = []any{
				map[string]any{"id": 1, "system_id": entrypoint.SystemID("runners", "builds-0"), "status": "online", "contacted_at": contacted},
				map[string]any{"id": 2, "system_id": "s_0000000000aa", "status": "stale", "contacted_at": now.Add(-8 * 24 * time.Hour)},
			}
		case "/api/v4/runners/42/jobs":
			f.asked++
			jobs := []any{}
			if r.URL.Query().Get("status") == "running" {
				for _, id := range f.running {
					jobs = append(jobs, map[string]any{"id": id, "status": "running"})
				}
			}
			body = jobs
		default:
			w.WriteHeader(404)
			body = map[string]string{"message": "404 Not Found"}
		}
		_ = json.NewEncoder(w).Encode(body)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeGitlab) client(t *testing.T) *gitlab.Client {
	c, err := gitlab.NewAuthSourceClient(gitlab.OAuthTokenSource{TokenSource: staticToken("glpat-reader")}, gitlab.WithBaseURL(f.URL+"/api/v4/"), gitlab.WithoutRetries())
	require.NoError(t, err)
	return c
}

func sources(t *testing.T, f *fakeGitlab) status.Sources {
	client := cluster()
	return status.Sources{Kube: func(string) (kubernetes.Interface, error) { return client, nil }, Gitlab: f.client(t)}
}

var target = status.Target{Fleet: "builds", Namespace: "runners", StatefulSet: "builds", RunnerID: 42,
	RunnerURL: "https://gitlab.example.com/groups/platform/-/runners/42", TokenExpiresAt: "never"}

func TestReadMatchesGitlabsManagersToTheirPods(t *testing.T) {
	f := newFakeGitlab(t)
	f.running = []int{7}
	fleets := status.Read(context.Background(), []status.Target{target}, sources(t, f))
	require.Len(t, fleets, 1)
	got := fleets[0]
	assert.Empty(t, got.Problems)
	require.NotNil(t, got.Rollout)
	assert.False(t, got.Ready(), "one manager is not ready")
	require.Len(t, got.Managers, 3)
	assert.Equal(t, status.Manager{Pod: "builds-0", Ready: true, Phase: "Running", SystemID: entrypoint.SystemID("runners", "builds-0"),
		InGitlab: true, Status: "online", ContactedAt: ptr.To(now.Add(-12 * time.Second))}, got.Managers[0])
	assert.Equal(t, "builds-1", got.Managers[1].Pod)
	assert.False(t, got.Managers[1].InGitlab, "its manager never verified")
	assert.Equal(t, int32(3), got.Managers[1].Restarts)
	assert.Equal(t, status.Manager{SystemID: "s_0000000000aa", InGitlab: true, Status: "stale", ContactedAt: ptr.To(now.Add(-8 * 24 * time.Hour))}, got.Managers[2],
		"a manager GitLab knows without a pod")
	require.NotNil(t, got.Runner)
	assert.Equal(t, []int64{7}, got.Runner.RunningJobs)
	assert.Equal(t, "online", got.Runner.Status)

	var out bytes.Buffer
	status.Render(&out, fleets, now)
	text := out.String()
	for _, want := range []string{
		"fleet builds (namespace runners)",
		"  managers: in progress: 2 of 2 managers updated, 1 ready",
		"    builds-0  ready        " + entrypoint.SystemID("runners", "builds-0") + "  GitLab: online, contacted 12s ago (2026-06-15T09:59:48Z)",
		"    builds-1  not ready    " + entrypoint.SystemID("runners", "builds-1") + "  GitLab: no manager yet",
		"    (no pod)  -            s_0000000000aa  GitLab: stale, contacted 192h0m0s ago",
		"  runner 42: online, contacted 12s ago (2026-06-15T09:59:48Z); 1 job running (#7)",
		"    https://gitlab.example.com/groups/platform/-/runners/42",
		"  token expires: never",
	} {
		assert.Contains(t, text, want)
	}
}

// What cannot be read is said, fleet by fleet; the rest is still read.
func TestReadSaysWhatItCannotRead(t *testing.T) {
	f := newFakeGitlab(t)
	src := sources(t, f)
	src.Kube = func(string) (kubernetes.Interface, error) { return nil, assert.AnError }
	unknown := target
	unknown.RunnerID = 0
	fleets := status.Read(context.Background(), []status.Target{target, unknown}, src)
	assert.Equal(t, []string{"cannot read the managers in the cluster: " + assert.AnError.Error()}, fleets[0].Problems)
	assert.NotNil(t, fleets[0].Runner, "GitLab is read all the same")
	assert.Contains(t, fleets[1].Problems, "the runner is not known to the stack (its token is in an existing Secret)")

	src.Gitlab = nil
	fleets = status.Read(context.Background(), []status.Target{target}, src)
	assert.Contains(t, fleets[0].Problems, "GitLab is not read: no GitLab token (gitlab:token or GITLAB_TOKEN)")
}

// WaitIdle returns once the runners run no job, and not before.
func TestWaitIdleWaitsForTheRunningJobs(t *testing.T) {
	f := newFakeGitlab(t)
	f.running = []int{7, 8}
	var seen []map[int64][]int64
	err := status.WaitIdle(context.Background(), f.client(t), []int64{42}, time.Millisecond, func(running map[int64][]int64) {
		seen = append(seen, running)
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.running) > 0 {
			f.running = f.running[1:] // one job ends between two looks
		}
	})
	require.NoError(t, err)
	assert.Equal(t, []map[int64][]int64{{42: {7, 8}}, {42: {8}}, {}}, seen)

	f.running = []int{9}
	ctx, cancel := context.WithCancel(context.Background())
	err = status.WaitIdle(ctx, f.client(t), []int64{42}, time.Hour, func(map[int64][]int64) { cancel() }) // the caller's timeout
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "jobs still running: map[42:[9]]"), err.Error())
}

type staticToken string

func (s staticToken) Token() (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: string(s)}, nil
}

//go:build e2e

package e2e

// Jobs for the real runner: queued in the GitLab stand-in the way a pipeline
// queues them, followed through GitLab's job API, and what the API server
// recorded of their pods.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// labJobVariables are what every lab job sets in its variables, since two
// stages of the runner's default way cannot run here (README, "The real
// GitLab Runner in the lab"): kwok's attach never feeds a container's
// stdin, so the executor's attach strategy cannot run a script, and the
// legacy exec strategy, which a job may choose with this flag, is used;
// and the stand-in serves no Git repository, so the job fetches no source.
// Neither changes the fleet's configuration.
var labJobVariables = map[string]string{
	"FF_USE_LEGACY_KUBERNETES_EXECUTION_STRATEGY": "true",
	"GIT_STRATEGY": "none",
}

// ciJob is one job of a .gitlab-ci.yml the tests write.
type ciJob struct {
	Tags      []string
	Script    []string
	Services  []map[string]any
	Variables map[string]string
	Image     string
}

// ciConfig renders a .gitlab-ci.yml with the lab's variables and the jobs.
func ciConfig(t testing.TB, jobs map[string]ciJob) string {
	t.Helper()
	doc := map[string]any{"variables": labJobVariables}
	for name, j := range jobs {
		job := map[string]any{"tags": j.Tags, "script": j.Script}
		if j.Image != "" {
			job["image"] = j.Image
		}
		if len(j.Services) > 0 {
			job["services"] = j.Services
		}
		if len(j.Variables) > 0 {
			job["variables"] = j.Variables
		}
		doc[name] = job
	}
	data, err := yaml.Marshal(doc)
	require.NoError(t, err)
	return string(data)
}

// gitlabJob is what the tests read of a job (GET /projects/:id/jobs/:job_id).
type gitlabJob struct {
	ID            int64      `json:"id"`
	Name          string     `json:"name"`
	Status        string     `json:"status"`
	FailureReason string     `json:"failure_reason"`
	StartedAt     *time.Time `json:"started_at"`
	FinishedAt    *time.Time `json:"finished_at"`
	Runner        *struct {
		ID int64 `json:"id"`
	} `json:"runner"`
	RunnerManager *struct {
		SystemID string `json:"system_id"`
	} `json:"runner_manager"`
	Project struct {
		ID int64 `json:"id"`
	} `json:"project"`
}

func (j gitlabJob) done() bool {
	switch j.Status {
	case "success", "failed", "canceled", "skipped":
		return true
	}
	return false
}

// queuePipeline creates a pipeline of the project on its default branch
// (main, protected as in GitLab) from the .gitlab-ci.yml and returns its jobs.
func queuePipeline(t testing.TB, project int, config string) []gitlabJob {
	t.Helper()
	status, body := h.gitlab(t, http.MethodPost, fmt.Sprintf("projects/%d/pipeline", project),
		map[string]any{"ref": "main", "ci_config": config})
	require.Equal(t, http.StatusCreated, status, "creating a pipeline: %s", body)
	var pipeline struct {
		ID int64 `json:"id"`
	}
	require.NoError(t, json.Unmarshal(body, &pipeline))
	status, body = h.gitlab(t, http.MethodGet, fmt.Sprintf("projects/%d/pipelines/%d/jobs", project, pipeline.ID), nil)
	require.Equal(t, http.StatusOK, status, string(body))
	var jobs []gitlabJob
	require.NoError(t, json.Unmarshal(body, &jobs))
	require.NotEmpty(t, jobs)
	return jobs
}

// queueJob queues a pipeline of one job and returns it.
func queueJob(t testing.TB, project int, name string, job ciJob) gitlabJob {
	t.Helper()
	jobs := queuePipeline(t, project, ciConfig(t, map[string]ciJob{name: job}))
	require.Len(t, jobs, 1)
	return jobs[0]
}

// getJob reads a job.
func getJob(t testing.TB, project int, id int64) gitlabJob {
	t.Helper()
	status, body := h.gitlab(t, http.MethodGet, fmt.Sprintf("projects/%d/jobs/%d", project, id), nil)
	require.Equal(t, http.StatusOK, status, string(body))
	var job gitlabJob
	require.NoError(t, json.Unmarshal(body, &job))
	return job
}

// jobTimeout bounds a wait for a lab job: generous, for a busy machine; the
// runner's own wait for a job pod (poll_timeout) is 3 minutes.
const jobTimeout = 6 * time.Minute

// waitJob waits for a job to end, and returns it with its log on failure.
func waitJob(t testing.TB, project int, id int64) gitlabJob {
	t.Helper()
	for deadline := time.Now().Add(jobTimeout); ; time.Sleep(time.Second) {
		job := getJob(t, project, id)
		if job.done() {
			return job
		}
		require.True(t, time.Now().Before(deadline), "job %d still %s after %s; its log:\n%s", id, job.Status, jobTimeout, jobTrace(t, project, id))
	}
}

// requireJobSucceeded waits for the job and fails with its log unless it
// succeeded.
func requireJobSucceeded(t testing.TB, project int, id int64) gitlabJob {
	t.Helper()
	job := waitJob(t, project, id)
	require.Equal(t, "success", job.Status, "job %d (%s) failed (%s); its log:\n%s", id, job.Name, job.FailureReason, jobTrace(t, project, id))
	return job
}

// jobTrace is a job's log as GitLab holds it.
func jobTrace(t testing.TB, project int, id int64) string {
	t.Helper()
	status, body := h.gitlab(t, http.MethodGet, fmt.Sprintf("projects/%d/jobs/%d/trace", project, id), nil)
	if status != http.StatusOK {
		return fmt.Sprintf("(no log: %d %s)", status, body)
	}
	return string(body)
}

// systemIDOf is the runner manager identity the entrypoint gives a pod
// (components' entrypoint.sh): s_ and the first 12 hex digits of the
// SHA-256 of namespace/name.
func systemIDOf(namespace, pod string) string {
	sum := sha256.Sum256([]byte(namespace + "/" + pod))
	return "s_" + hex.EncodeToString(sum[:])[:12]
}

// auditEvent is what the tests read of an API server audit event.
type auditEvent struct {
	Verb  string `json:"verb"`
	Stage string `json:"stage"`
	User  struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
		Namespace   string `json:"namespace"`
		Name        string `json:"name"`
	} `json:"objectRef"`
	ResponseStatus struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"responseStatus"`
	Annotations map[string]string `json:"annotations"`
}

// auditEvents lists the completed requests the suite cluster's API server
// recorded (tools/cluster's audit policy: pod creates, deletes and execs)
// in a namespace.
func auditEvents(t testing.TB, namespace string) []auditEvent {
	t.Helper()
	f, err := os.Open(filepath.Join(h.clusterDir, "logs", "audit.log"))
	require.NoError(t, err, "the cluster's audit log")
	defer f.Close()
	var out []auditEvent
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 16<<20)
	for scanner.Scan() {
		if !strings.Contains(scanner.Text(), `"namespace":"`+namespace+`"`) {
			continue
		}
		var e auditEvent
		require.NoError(t, json.Unmarshal(scanner.Bytes(), &e))
		if e.Stage == "ResponseComplete" && e.ObjectRef.Namespace == namespace {
			out = append(out, e)
		}
	}
	require.NoError(t, scanner.Err())
	return out
}

// podRecorder keeps every pod it sees in a namespace, as first seen (after
// admission, as stored), and when each was gone.
type podRecorder struct {
	mu   sync.Mutex
	pods map[string]*recordedPod // by UID
	stop chan struct{}
	done chan struct{}
}

type recordedPod struct {
	Pod  corev1.Pod
	Gone time.Time
}

func recordPods(t testing.TB, namespace string) *podRecorder {
	t.Helper()
	client := kube(t)
	r := &podRecorder{pods: map[string]*recordedPod{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			list, err := client.CoreV1().Pods(namespace).List(context.Background(), metav1.ListOptions{})
			now := time.Now()
			if err == nil {
				r.mu.Lock()
				present := map[string]bool{}
				for _, p := range list.Items {
					present[string(p.UID)] = true
					if _, ok := r.pods[string(p.UID)]; !ok {
						r.pods[string(p.UID)] = &recordedPod{Pod: p}
					}
				}
				for uid, p := range r.pods {
					if !present[uid] && p.Gone.IsZero() {
						p.Gone = now
					}
				}
				r.mu.Unlock()
			}
			select {
			case <-r.stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(r.Stop)
	return r
}

// Stop ends the recording.
func (r *podRecorder) Stop() {
	select {
	case <-r.stop:
	default:
		close(r.stop)
	}
	<-r.done
}

// Pods are the recorded pods.
func (r *podRecorder) Pods() []recordedPod {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []recordedPod
	for _, p := range r.pods {
		out = append(out, *p)
	}
	return out
}

// waitGone waits until every recorded pod is gone, and returns them.
func (r *podRecorder) waitGone(t testing.TB, timeout time.Duration) []recordedPod {
	t.Helper()
	for deadline := time.Now().Add(timeout); ; time.Sleep(500 * time.Millisecond) {
		pods := r.Pods()
		left := 0
		for _, p := range pods {
			if p.Gone.IsZero() {
				left++
			}
		}
		if left == 0 {
			return pods
		}
		require.True(t, time.Now().Before(deadline), "%d job pods still there after %s", left, timeout)
	}
}

// Package status reads the live state of a stack's fleets: what the stack
// outputs cannot say, since they are a snapshot of the last `up`.
//
// For each fleet it reads, from the fleet's cluster, the managers'
// StatefulSet, its rollout (program.ReadRollout) and each manager pod; and
// from GitLab, the runner (its status, whether it is paused, its last
// contact), each manager GitLab knows with its last contact, matched to its
// pod by the system id the entrypoint derives from the pod's name
// (entrypoint.SystemID), and the jobs the runner is running. WaitIdle waits
// for those jobs to end: the drain before maintenance.
//
// It reads only; Read never fails as a whole: what cannot be read is said
// in the fleet's Problems. FromStack finds the fleets and how to reach their
// clusters and GitLab from a stack (its outputs and settings); cmd/status
// is the command line.
package status

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/glrf/gitlab-runner-fleet/components/entrypoint"
	"github.com/glrf/gitlab-runner-fleet/program"
)

// Target is a fleet as the stack outputs name it (fleets.<name>).
type Target struct {
	Fleet       string
	Cluster     string // "": the default provider's cluster
	Namespace   string
	StatefulSet string
	// RunnerID is the runner in GitLab; 0 when the stack does not know it
	// (a token in an existing Secret).
	RunnerID int64
	// RunnerURL and TokenExpiresAt are the outputs of the last `up`.
	RunnerURL, TokenExpiresAt string
}

// Sources reach the clusters and GitLab.
type Sources struct {
	// Kube connects to a fleet's cluster by name ("": the default one).
	Kube func(cluster string) (kubernetes.Interface, error)
	// Gitlab is GitLab's API with a token that may read the runners
	// (manage_runner or read_api); nil: GitLab is not read.
	Gitlab *gitlab.Client
	// Now is the clock for "ago" (default time.Now).
	Now func() time.Time
}

// Fleet is one fleet's live state.
type Fleet struct {
	Target
	// Rollout is the managers' rollout as program.ReadRollout reads it.
	Rollout *program.Rollout `json:",omitempty"`
	// Managers are the manager pods, and GitLab's managers without a pod.
	Managers []Manager
	// Runner is GitLab's view of the runner; nil when not read.
	Runner *Runner `json:",omitempty"`
	// Problems are what could not be read, and why.
	Problems []string `json:",omitempty"`
}

// Manager is a manager pod, GitLab's record of it, or both.
type Manager struct {
	// Pod is the pod's name; "" for a manager GitLab knows without a pod
	// (an earlier pod, another cluster, a manager outside the stack).
	Pod      string `json:",omitempty"`
	Ready    bool
	Phase    string `json:",omitempty"`
	Restarts int32
	// Stopping: the pod is being deleted and drains its jobs.
	Stopping bool
	SystemID string
	// InGitlab: GitLab has a manager with SystemID; then its status
	// (online, offline, stale, never_contacted) and last contact.
	InGitlab    bool
	Status      string     `json:",omitempty"`
	ContactedAt *time.Time `json:",omitempty"`
}

// Runner is the runner as GitLab shows it.
type Runner struct {
	ID          int64
	Status      string // online, offline, stale, never_contacted (paused runners too)
	Paused      bool
	ContactedAt *time.Time `json:",omitempty"`
	// RunningJobs are the ids of the jobs it runs now.
	RunningJobs []int64
}

// Read reads every target's live state.
func Read(ctx context.Context, targets []Target, src Sources) []Fleet {
	out := make([]Fleet, len(targets))
	for i, t := range targets {
		out[i] = readFleet(ctx, t, src)
	}
	return out
}

func readFleet(ctx context.Context, t Target, src Sources) Fleet {
	f := Fleet{Target: t}
	problem := func(format string, args ...any) { f.Problems = append(f.Problems, fmt.Sprintf(format, args...)) }
	client, err := src.Kube(t.Cluster)
	if err == nil {
		err = f.readPods(ctx, client)
	}
	if err != nil {
		problem("cannot read the managers in the cluster: %v", err)
	}
	switch {
	case src.Gitlab == nil:
		problem("GitLab is not read: no GitLab token (gitlab:token or GITLAB_TOKEN)")
	case t.RunnerID == 0:
		problem("the runner is not known to the stack (its token is in an existing Secret)")
	default:
		if err := f.readRunner(ctx, src.Gitlab); err != nil {
			problem("cannot read the runner %d in GitLab: %v", t.RunnerID, err)
		}
	}
	return f
}

// readPods reads the rollout and the manager pods.
func (f *Fleet) readPods(ctx context.Context, client kubernetes.Interface) error {
	rollout, err := program.ReadRollout(ctx, client, f.Namespace, f.StatefulSet)
	if err != nil {
		return err
	}
	f.Rollout = &rollout
	sts, err := client.AppsV1().StatefulSets(f.Namespace).Get(ctx, f.StatefulSet, metav1.GetOptions{})
	if err != nil {
		return err
	}
	selector, err := metav1.LabelSelectorAsSelector(sts.Spec.Selector)
	if err != nil {
		return err
	}
	pods, err := client.CoreV1().Pods(f.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return err
	}
	slices.SortFunc(pods.Items, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	for _, p := range pods.Items {
		m := Manager{Pod: p.Name, Phase: string(p.Status.Phase), Stopping: p.DeletionTimestamp != nil,
			SystemID: entrypoint.SystemID(f.Namespace, p.Name)}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				m.Ready = c.Status == corev1.ConditionTrue
			}
		}
		for _, c := range p.Status.ContainerStatuses {
			m.Restarts += c.RestartCount
		}
		f.Managers = append(f.Managers, m)
	}
	return nil
}

// readRunner reads the runner, its managers and its running jobs.
func (f *Fleet) readRunner(ctx context.Context, gl *gitlab.Client) error {
	d, _, err := gl.Runners.GetRunnerDetails(f.RunnerID, gitlab.WithContext(ctx))
	if err != nil {
		return err
	}
	f.Runner = &Runner{ID: d.ID, Status: d.Status, Paused: d.Paused, ContactedAt: d.ContactedAt, RunningJobs: []int64{}}
	managers, _, err := gl.Runners.ListRunnerManagers(f.RunnerID, gitlab.WithContext(ctx))
	if err != nil {
		return err
	}
	for _, gm := range managers {
		i := slices.IndexFunc(f.Managers, func(m Manager) bool { return m.SystemID == gm.SystemID })
		if i < 0 {
			f.Managers = append(f.Managers, Manager{SystemID: gm.SystemID})
			i = len(f.Managers) - 1
		}
		f.Managers[i].InGitlab, f.Managers[i].Status, f.Managers[i].ContactedAt = true, gm.Status, gm.ContactedAt
	}
	jobs, err := runningJobs(ctx, gl, f.RunnerID)
	if err != nil {
		return err
	}
	f.Runner.RunningJobs = jobs
	return nil
}

// runningJobs are the ids of the jobs runner id runs now.
func runningJobs(ctx context.Context, gl *gitlab.Client, id int64) ([]int64, error) {
	running := "running"
	out := []int64{}
	opts := &gitlab.ListRunnerJobsOptions{Status: &running, ListOptions: gitlab.ListOptions{PerPage: 100}}
	for page := int64(1); ; page++ {
		opts.Page = page
		jobs, _, err := gl.Runners.ListRunnerJobs(id, opts, gitlab.WithContext(ctx))
		if err != nil {
			return nil, err
		}
		for _, j := range jobs {
			out = append(out, j.ID)
		}
		if len(jobs) < 100 {
			return out, nil
		}
	}
}

// Ready is whether every manager the fleet asks for runs and is ready.
func (f Fleet) Ready() bool {
	return f.Rollout != nil && f.Rollout.Complete
}

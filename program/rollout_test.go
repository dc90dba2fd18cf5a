package program

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
)

const ns = "gitlab-runner-builds"

func statefulSet(replicas int32, status appsv1.StatefulSetStatus) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "builds", Namespace: ns, Generation: 2},
		Spec: appsv1.StatefulSetSpec{Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/instance": "builds"}}},
		Status: status,
	}
}

func managerPod(name, revision string, deleting *time.Time) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns,
		Labels: map[string]string{"app.kubernetes.io/instance": "builds", appsv1.ControllerRevisionHashLabelKey: revision}}}
	if deleting != nil {
		p.DeletionTimestamp = &metav1.Time{Time: *deleting}
	}
	return p
}

func TestRolloutComplete(t *testing.T) {
	client := fake.NewClientset(
		statefulSet(2, appsv1.StatefulSetStatus{ObservedGeneration: 2, ReadyReplicas: 2, UpdatedReplicas: 2, CurrentRevision: "r2", UpdateRevision: "r2"}),
		managerPod("builds-0", "r2", nil), managerPod("builds-1", "r2", nil),
	)
	r, err := ReadRollout(context.Background(), client, ns, "builds")
	require.NoError(t, err)
	assert.True(t, r.Complete)
	assert.Equal(t, "complete: 2 of 2 managers ready", r.String())
}

func TestRolloutNamesTheDrainingManagers(t *testing.T) {
	deadline := time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC)
	client := fake.NewClientset(
		statefulSet(3, appsv1.StatefulSetStatus{ObservedGeneration: 2, ReadyReplicas: 2, UpdatedReplicas: 0, CurrentRevision: "r1", UpdateRevision: "r2"}),
		managerPod("builds-0", "r1", nil), managerPod("builds-1", "r1", nil), managerPod("builds-2", "r1", &deadline),
	)
	r, err := ReadRollout(context.Background(), client, ns, "builds")
	require.NoError(t, err)
	assert.False(t, r.Complete)
	assert.Equal(t, []DrainingManager{{Pod: "builds-2", Deadline: deadline}}, r.Draining)
	assert.Equal(t, []string{"builds-0", "builds-1"}, r.Pending)
	assert.Equal(t, "in progress: 0 of 3 managers updated, 2 ready; builds-2 draining its jobs (gone by 2026-11-27T16:00:00Z at the latest); waiting to roll: builds-0, builds-1", r.String())
}

func TestRolloutNotYetObserved(t *testing.T) {
	client := fake.NewClientset(
		statefulSet(1, appsv1.StatefulSetStatus{ObservedGeneration: 1, ReadyReplicas: 1, UpdatedReplicas: 1, CurrentRevision: "r1", UpdateRevision: "r1"}),
		managerPod("builds-0", "r1", nil),
	)
	r, err := ReadRollout(context.Background(), client, ns, "builds")
	require.NoError(t, err)
	assert.False(t, r.Complete, "the controller has not seen the new template yet")
}

// A bound shorter than the drain ends the wait without an error: `up` never
// fails because managers are still draining.
func TestWaitRolloutEndsAtTheBoundWithoutFailing(t *testing.T) {
	deadline := time.Now().Add(time.Hour)
	client := fake.NewClientset(
		statefulSet(1, appsv1.StatefulSetStatus{ObservedGeneration: 2, CurrentRevision: "r1", UpdateRevision: "r2"}),
		managerPod("builds-0", "r1", &deadline),
	)
	var seen []string
	start := time.Now()
	r, err := WaitRollout(context.Background(), client, ns, "builds", 3*time.Second, func(r Rollout) { seen = append(seen, r.String()) })
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 3*time.Second, "waited up to the bound")
	assert.False(t, r.Complete)
	require.Len(t, seen, 1, "progress is reported when it changes, not on every poll")
	assert.True(t, strings.Contains(seen[0], "builds-0 draining its jobs"))
}

func TestWaitRolloutReturnsOnceComplete(t *testing.T) {
	client := fake.NewClientset(
		statefulSet(1, appsv1.StatefulSetStatus{ObservedGeneration: 2, ReadyReplicas: 1, UpdatedReplicas: 1, CurrentRevision: "r2", UpdateRevision: "r2"}),
		managerPod("builds-0", "r2", nil),
	)
	r, err := WaitRollout(context.Background(), client, ns, "builds", time.Hour, nil)
	require.NoError(t, err)
	assert.True(t, r.Complete)
}

func TestWaitRolloutReportsAMissingStatefulSet(t *testing.T) {
	_, err := WaitRollout(context.Background(), fake.NewClientset(), ns, "builds", 0, nil)
	require.Error(t, err)
}

// A preview shows the rollout as it stands, the very text `up` records
// for it, so that a preview that changes nothing shows no output change;
// a fleet whose managers do not exist yet, or a cluster out of reach,
// shows "".
func TestPreviewShowsTheRolloutAsItStands(t *testing.T) {
	client := fake.NewClientset(
		statefulSet(2, appsv1.StatefulSetStatus{ObservedGeneration: 2, ReadyReplicas: 2, UpdatedReplicas: 2, CurrentRevision: "r2", UpdateRevision: "r2"}),
		managerPod("builds-0", "r2", nil), managerPod("builds-1", "r2", nil),
	)
	kube := func(KubeAccess) (kubernetes.Interface, error) { return client, nil }
	up, err := WaitRollout(context.Background(), client, ns, "builds", 0, nil)
	require.NoError(t, err)
	assert.Equal(t, up.String(), previewRollout(kube, clusterTarget{}, ns, "builds"))
	assert.Equal(t, "", previewRollout(kube, clusterTarget{}, ns, "not-yet"))
	unreachable := func(KubeAccess) (kubernetes.Interface, error) { return nil, errors.New("connection refused") }
	assert.Equal(t, "", previewRollout(unreachable, clusterTarget{}, ns, "builds"))
}

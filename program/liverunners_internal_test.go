package program

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
	"github.com/glrf/gitlab-runner-fleet/tests/mocks"
)

// rolledOutOn is a fleet's StatefulSet whose one manager runs its template,
// which mounts inUse's token, with previous recorded when not "".
func rolledOutOn(inUse, previous string) *appsv1.StatefulSet {
	sts := statefulSet(1, appsv1.StatefulSetStatus{ObservedGeneration: 2, ReadyReplicas: 1, UpdatedReplicas: 1, CurrentRevision: "r2", UpdateRevision: "r2"})
	sts.Spec.Template.Annotations = map[string]string{settings.RunnerAnnotation: inUse}
	if previous != "" {
		sts.Annotations = map[string]string{settings.PreviousRunnerAnnotation: previous}
	}
	return sts
}

func TestReadLiveRunners(t *testing.T) {
	ctx := context.Background()
	live, err := ReadLiveRunners(ctx, fake.NewClientset(), ns, "builds")
	require.NoError(t, err)
	assert.Equal(t, &settings.LiveRunners{}, live, "no StatefulSet: nothing in use")

	live, err = ReadLiveRunners(ctx, fake.NewClientset(rolledOutOn("builds-odd@701", "builds-even@700"), managerPod("builds-0", "r2", nil)), ns, "builds")
	require.NoError(t, err)
	assert.Equal(t, &settings.LiveRunners{InUse: settings.RunnerSlot{Name: "builds-odd", Trigger: "701"},
		Previous: settings.RunnerSlot{Name: "builds-even", Trigger: "700"}, RolledOut: true}, live)

	live, err = ReadLiveRunners(ctx, fake.NewClientset(rolledOutOn("builds-odd@701", "builds-even@700"), managerPod("builds-0", "r1", nil)), ns, "builds")
	require.NoError(t, err)
	assert.False(t, live.RolledOut, "a manager still runs the old template")

	draining := time.Now().Add(time.Hour)
	live, err = ReadLiveRunners(ctx, fake.NewClientset(rolledOutOn("builds-odd@701", "builds-even@700"), managerPod("builds-0", "r2", nil), managerPod("builds-1", "r1", &draining)), ns, "builds")
	require.NoError(t, err)
	assert.False(t, live.RolledOut, "a manager drains its jobs on the old template")

	unobserved := rolledOutOn("builds-odd@701", "builds-even@700")
	unobserved.Status.ObservedGeneration = 1
	live, err = ReadLiveRunners(ctx, fake.NewClientset(unobserved, managerPod("builds-0", "r2", nil)), ns, "builds")
	require.NoError(t, err)
	assert.False(t, live.RolledOut, "the controller has not seen the new template yet")

	notReady := rolledOutOn("builds-odd@701", "builds-even@700")
	notReady.Status.ReadyReplicas = 0
	live, err = ReadLiveRunners(ctx, fake.NewClientset(notReady, managerPod("builds-0", "r2", nil)), ns, "builds")
	require.NoError(t, err)
	assert.True(t, live.RolledOut, "a manager on the new template that is not ready polls with no older token")

	old := statefulSet(1, appsv1.StatefulSetStatus{ObservedGeneration: 2})
	_, err = ReadLiveRunners(ctx, fake.NewClientset(old), ns, "builds")
	assert.ErrorIs(t, err, errNoRunnerRecord, "a StatefulSet of an older version: not known")
}

// The program reads the cluster before it registers the runners: after two
// periods without an `up`, the runner the managers use (period 700's, in
// the even slot) survives, and the new one takes the odd slot. Without the
// cluster, the periods alone put period 702's runner in the even slot.
func TestTheProgramKeepsTheRunnerTheClusterShowsInUse(t *testing.T) {
	const thirtyDays = 30 * 24 * time.Hour
	config := map[string]string{
		"gitlab:baseUrl":             "https://gitlab.example.com/api/v4/",
		"gitlab-runner-fleet:fleets": `[{"name":"builds","runner":{"type":"group_type","groupId":42,"rotateEvery":"30d"}}]`,
	}
	now := func() time.Time { return time.Unix(0, 0).Add(702 * thirtyDays) }
	triggers := func(m *mocks.Mocks) map[string]string {
		out := map[string]string{}
		for _, r := range m.OfType("gitlab:index/userRunner:UserRunner") {
			out[r.Name] = fmt.Sprint(r.ReplacementTrigger)
		}
		return out
	}

	client := fake.NewClientset(rolledOutOn("builds-even@700", ""), managerPod("builds-0", "r2", nil))
	opts := Options{Now: now, Kube: func(KubeAccess) (kubernetes.Interface, error) { return client, nil }}
	m, err := mocks.Run(opts.Run, config, nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"builds-even": "700", "builds-odd": "702"}, triggers(m))
	secret := m.Find("kubernetes:core/v1:Secret", "builds-token")
	require.NotNil(t, secret)
	assert.Equal(t, "glrt-mock-builds-odd", mocks.String(secret.Inputs, "stringData", "runner-token"), "the managers roll to the new runner")

	blind := Options{Now: now, Kube: func(KubeAccess) (kubernetes.Interface, error) { return nil, errors.New("no access") }}
	m, err = mocks.Run(blind.Run, config, nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"builds-even": "702", "builds-odd": "701"}, triggers(m), "the periods alone")
}

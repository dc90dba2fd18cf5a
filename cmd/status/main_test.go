package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/glrf/gitlab-runner-fleet/status"
)

// The files a normal Pulumi install writes: `pulumi stack output --json
// --show-secrets` and `pulumi config --json --show-secrets`.
const (
	outputsJSON = `{"fleets": {"builds": {"namespace": "runners", "statefulSetName": "builds", "runnerId": "42", "runnerUrl": "https://gitlab.example.com/admin/runners/42",
	  "tokenExpiresAt": "never", "jobNamespace": "runners-jobs", "tokenRotatesAfter": ""},
	  "east": {"namespace": "runners", "statefulSetName": "east", "runnerId": "", "cluster": "east"}}}`
	configJSON = `{"gitlab:baseUrl": {"value": "https://gitlab.example.com/api/v4/", "secret": false},
	  "gitlab:token": {"value": "glpat-secret", "secret": true},
	  "gitlab-runner-fleet:clusters": {"value": "{\"east\":{\"context\":\"east-ctx\"}}", "objectValue": {"east": {"context": "east-ctx"}}, "secret": false}}`
)

func writeFiles(t *testing.T) (string, string) {
	dir := t.TempDir()
	outputs, config := filepath.Join(dir, "outputs.json"), filepath.Join(dir, "config.json")
	require.NoError(t, os.WriteFile(outputs, []byte(outputsJSON), 0o600))
	require.NoError(t, os.WriteFile(config, []byte(configJSON), 0o600))
	return outputs, config
}

func TestStackFromPulumisFiles(t *testing.T) {
	outputs, config := writeFiles(t)
	s, err := stackFromFiles(outputs, config)
	require.NoError(t, err)
	assert.Equal(t, "glpat-secret", s.Config["gitlab:token"])
	assert.JSONEq(t, `{"east":{"context":"east-ctx"}}`, s.Config["gitlab-runner-fleet:clusters"])
	targets, err := s.Targets()
	require.NoError(t, err)
	assert.Equal(t, []status.Target{
		{Fleet: "builds", Namespace: "runners", StatefulSet: "builds", RunnerID: 42, RunnerURL: "https://gitlab.example.com/admin/runners/42", TokenExpiresAt: "never"},
		{Fleet: "east", Cluster: "east", Namespace: "runners", StatefulSet: "east"},
	}, targets)
	src, err := s.Sources()
	require.NoError(t, err)
	assert.NotNil(t, src.Gitlab, "the token reads GitLab")
	_, err = src.Kube("west")
	assert.ErrorContains(t, err, `the stack names no cluster "west"`)
}

func TestRunShowsOneFleetAndChecksItsManagers(t *testing.T) {
	outputs, config := writeFiles(t)
	s, err := stackFromFiles(outputs, config)
	require.NoError(t, err)
	ready := int32(1)
	client := fake.NewClientset(&appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "builds", Namespace: "runners"},
		Spec:       appsv1.StatefulSetSpec{Replicas: ptr.To(int32(1)), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}},
		Status:     appsv1.StatefulSetStatus{ReadyReplicas: ready, UpdatedReplicas: 1},
	})
	o := options{fleet: "builds", now: func() time.Time { return time.Unix(0, 0) }, overrideSources: func(src *status.Sources) {
		src.Kube = func(string) (kubernetes.Interface, error) { return client, nil }
		src.Gitlab = nil
	}}
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), s, o, &out))
	assert.Contains(t, out.String(), "fleet builds (namespace runners)")
	assert.NotContains(t, out.String(), "fleet east", "--fleet shows one fleet")
	assert.NotContains(t, out.String(), "glpat-secret")

	o.check = true
	err = run(context.Background(), s, o, &out)
	assert.True(t, errors.Is(err, errNotReady), "no pod runs: %v", err)

	o.fleet = "nope"
	assert.ErrorContains(t, run(context.Background(), s, o, &out), `the stack has no fleet "nope"`)
	o.fleet, o.waitIdle = "east", true
	assert.ErrorContains(t, run(context.Background(), s, o, &out), "fleet east: the stack does not know its runner")
}

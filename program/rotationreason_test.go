package program_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
	"github.com/glrf/gitlab-runner-fleet/tests/mocks"
)

// A preview that replaces the runner because a new rotation period began
// says so; one that replaces nothing, or creates a new fleet, does not.
func TestAPreviewSaysWhenRotationReplacesTheRunner(t *testing.T) {
	now := time.Date(2026, 6, 15, 10, 0, 0, 0, time.UTC)
	period := 30 * 24 * time.Hour
	start := settings.NextRotation(now, period).Add(-period)
	config := baseConfig(`[{"name":"builds","runner":{"type":"group_type","groupId":1,"rotateEvery":"30d"}}]`)
	tokenSecret := func(made time.Time) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "builds-token-1a2b3c4d", Namespace: "gitlab-runner-builds",
			Labels: map[string]string{"app.kubernetes.io/name": "gitlab-runner", "app.kubernetes.io/instance": "builds"}, CreationTimestamp: metav1.NewTime(made)}}
	}
	explained := func(t *testing.T, cluster ...*corev1.Secret) []string {
		t.Helper()
		opts, client := withCluster()
		for _, s := range cluster {
			_, err := client.CoreV1().Secrets(s.Namespace).Create(t.Context(), s, metav1.CreateOptions{})
			require.NoError(t, err)
		}
		opts.Now = func() time.Time { return now }
		opts.Getenv = noEnv.Getenv
		m, err := mocks.RunPreview(opts.Run, config, nil)
		require.NoError(t, err)
		var out []string
		for _, l := range m.Logs() {
			if strings.Contains(l.Message, "replaced by rotation") {
				assert.Equal(t, "INFO", l.Severity)
				out = append(out, l.Message)
			}
		}
		return out
	}

	old := explained(t, tokenSecret(start.Add(-time.Hour)))
	require.Len(t, old, 1)
	assert.Equal(t, "fleet builds: the runner and its token are replaced by rotation: runner.rotateEvery is 30d and a new period began at "+
		start.Format(time.RFC3339)+", after the current token was made ("+start.Add(-time.Hour).Format(time.RFC3339)+"); the new runner and token come first, "+
		"the managers roll onto them, the old runner is deleted last; the next period begins at "+start.Add(period).Format(time.RFC3339), old[0])

	assert.Empty(t, explained(t), "a new fleet has no token yet")
	assert.Empty(t, explained(t, tokenSecret(start.Add(time.Hour))), "a token made in this period is not rotated")
}

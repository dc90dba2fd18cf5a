package program_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/glrf/gitlab-runner-fleet/tests/mocks"
)

// The objects the manager pod settings name (a PriorityClass, the Secret a
// variable comes from, a volume's ConfigMap) are checked against the cluster
// before anything is created: the managers' namespace exists outside the
// stack here, so a missing one is an error.
func TestManagerPodObjectsAreCheckedBeforeAnythingIsCreated(t *testing.T) {
	fleets := `[{"name":"builds","namespace":"runners","createNamespace":false,"runner":{"type":"group_type","groupId":42},
		"manager":{"pod":{"priorityClassName":"ci-high","env":[{"name":"PROXY_PASSWORD","secret":{"name":"proxy","key":"password"}}],
		"volumes":[{"name":"conf","mountPath":"/opt/conf","configMap":"conf"}]}}}]`
	opts, _ := withCluster(namespace("runners"))
	m, err := mocks.Run(opts.Run, baseConfig(fleets), nil)
	require.Error(t, err)
	for _, want := range []string{
		"fleets[0] (builds).manager.pod.priorityClassName: names PriorityClass ci-high, which does not exist; create it first",
		"fleets[0] (builds).manager.pod.env[0].secret: names Secret runners/proxy (key password), which does not exist",
		"fleets[0] (builds).manager.pod.volumes[0].configMap: names ConfigMap runners/conf, which does not exist",
	} {
		assert.Contains(t, err.Error(), want)
	}
	for _, r := range m.All() {
		assert.False(t, r.Custom && strings.HasPrefix(r.Type, "kubernetes:"), "nothing created: %s %s", r.Type, r.Name)
	}

	opts, _ = withCluster(namespace("runners"),
		&schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "ci-high"}, Value: 1000},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "proxy", Namespace: "runners"}, Data: map[string][]byte{"password": []byte("p")}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "conf", Namespace: "runners"}})
	m, err = mocks.Run(opts.Run, baseConfig(fleets), nil)
	require.NoError(t, err, "once they exist")
	sts := m.Find("kubernetes:apps/v1:StatefulSet", "builds")
	require.NotNil(t, sts)
	assert.Equal(t, "ci-high", mocks.String(sts.Inputs, "spec", "template", "spec", "priorityClassName"))
}

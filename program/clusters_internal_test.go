package program

import (
	"errors"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/kubernetes"

	"github.com/glrf/gitlab-runner-fleet/components/fleet"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
	"github.com/glrf/gitlab-runner-fleet/tests/mocks"
)

const secretKubeconfig = "apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user: {token: kubeconfig-credential-789}\n"

// The rollout a fleet reports (logged and exported) names what went wrong
// reading it, but never the kubeconfig of a cluster, even when the error
// from the client quotes it.
func TestRolloutReportsNeverEchoTheKubeconfig(t *testing.T) {
	reports := make(chan string, 1)
	opts := Options{Kube: func(a KubeAccess) (kubernetes.Interface, error) {
		return nil, errors.New("cannot load kubeconfig " + a.Kubeconfig + ": no server")
	}}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		f := &fleet.RunnerFleet{}
		if err := ctx.RegisterComponentResource(fleet.RunnerFleetType, "builds", f); err != nil {
			return err
		}
		f.Namespace = pulumi.String("gitlab-runner-builds").ToStringOutput()
		f.StatefulSetName = pulumi.String("builds").ToStringOutput()
		target := clusterTarget{access: KubeAccess{Kubeconfig: secretKubeconfig}, secrets: []string{secretKubeconfig}}
		opts.reportRollout(ctx, target, f, settings.FleetSettings{Name: "builds"}).ApplyT(func(s string) string {
			reports <- s
			return s
		})
		return nil
	}, pulumi.WithMocks("gitlab-runner-fleet", "test", &mocks.Mocks{}))
	require.NoError(t, err)
	select {
	case report := <-reports:
		assert.Equal(t, "unknown: cannot load kubeconfig [secret]: no server", report)
	case <-time.After(10 * time.Second):
		t.Fatal("no rollout reported")
	}
}

func TestReadingAClusterWithABrokenKubeconfigFailsWithoutEchoingIt(t *testing.T) {
	broken := secretKubeconfig + "clusters: [{name: x, cluster: {server: 'https://x"
	_, err := KubeAccess{Kubeconfig: broken}.Client()
	require.Error(t, err)
	message := redact(err.Error(), []string{broken})
	assert.NotContains(t, message, "kubeconfig-credential-789")
	assert.Contains(t, message, "reading the kubeconfig")
}

//go:build e2e

package e2e

// Harness support for the multi-cluster tests: a second private control
// plane beside the suite's, and kubectl for either cluster.

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// kubeCluster is one control plane the tests reach: the suite's, or one of
// their own.
type kubeCluster struct {
	kubeconfig string
	// dir is the state folder of a cluster a test started; empty for the suite's.
	dir string
}

// suiteCluster is the suite's own cluster.
func suiteCluster() *kubeCluster { return &kubeCluster{kubeconfig: h.kubeconfig} }

// startOtherCluster starts a second private cluster on free ports (the
// cluster tool picks them outside the kernel's ephemeral range) for one test,
// and purges it when the test ends (or the reaper does, when the test binary
// is killed). Its pods are all kwok's: no pod runner.
func startOtherCluster(t testing.TB) *kubeCluster {
	t.Helper()
	c := &kubeCluster{dir: filepath.Join(t.TempDir(), "cluster")}
	c.kubeconfig = filepath.Join(c.dir, "kubeconfig")
	h.reaper.cluster(filepath.Join(h.root, ".local", "bin", "cluster"), c.dir)
	t.Cleanup(func() {
		if out, err := c.tool("stop", "--purge"); err != nil {
			t.Logf("stopping the second cluster: %v: %s", err, out)
		}
	})
	out, err := c.tool("start", "--free-ports")
	require.NoError(t, err, "starting a second cluster: %s", out)
	return c
}

// stop stops the cluster's processes and keeps its state: it is unreachable
// until start.
func (c *kubeCluster) stop(t testing.TB) {
	t.Helper()
	out, err := c.tool("stop")
	require.NoError(t, err, "stopping the second cluster: %s", out)
}

// start starts a stopped cluster again, on the same ports with the same data.
func (c *kubeCluster) start(t testing.TB) {
	t.Helper()
	out, err := c.tool("start")
	require.NoError(t, err, "starting the second cluster again: %s", out)
}

func (c *kubeCluster) tool(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(h.root, ".local", "bin", "cluster"), append(args, "--dir", c.dir)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *kubeCluster) kubectl(t testing.TB, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command("kubectl", append([]string{"--kubeconfig", c.kubeconfig}, args...)...).CombinedOutput()
	return string(out), err
}

func (c *kubeCluster) mustKubectl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := c.kubectl(t, args...)
	require.NoError(t, err, "kubectl %s: %s", strings.Join(args, " "), out)
	return out
}

// kubeconfigText is the cluster's admin kubeconfig, every credential embedded.
func (c *kubeCluster) kubeconfigText(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile(c.kubeconfig)
	require.NoError(t, err)
	return string(data)
}

// apiServer is the cluster's apiServer setting, for the stacks'
// NetworkPolicies: a local API server listens on loopback, which an
// EndpointSlice cannot hold, so the program cannot read it from the cluster
// (see README).
func (c *kubeCluster) apiServer(t testing.TB) map[string]any {
	t.Helper()
	config, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig)
	require.NoError(t, err)
	u, err := url.Parse(config.Host)
	require.NoError(t, err)
	port, err := strconv.Atoi(u.Port())
	require.NoError(t, err)
	// The kubernetes Service's cluster IP, as a production setting names it
	// (kubectl get service kubernetes -n default), so no `up` reads it.
	client, err := kubernetes.NewForConfig(config)
	require.NoError(t, err)
	service, err := client.CoreV1().Services("default").Get(context.Background(), "kubernetes", metav1.GetOptions{})
	require.NoError(t, err)
	return map[string]any{"cidrs": []string{"127.0.0.1/32"}, "port": port, "serviceCidrs": []string{service.Spec.ClusterIP + "/32"}}
}

// objectsOf lists the objects of the given kinds that carry a fleet's
// instance label, in every namespace of the cluster (kubectl's kind/name).
func (c *kubeCluster) objectsOf(t testing.TB, kinds, fleetName string) []string {
	t.Helper()
	return strings.Fields(c.mustKubectl(t, "get", kinds, "-A", "-l", "app.kubernetes.io/instance="+fleetName, "-o", "name"))
}

// namespaceGone: the namespace does not exist, or is being deleted.
func (c *kubeCluster) namespaceGone(t testing.TB, namespace string) bool {
	t.Helper()
	phase, err := c.kubectl(t, "get", "namespace", namespace, "-o", "jsonpath={.status.phase}")
	if err != nil {
		require.Contains(t, phase, "NotFound", "reading namespace %s", namespace)
		return true
	}
	return strings.Contains(phase, "Terminating")
}

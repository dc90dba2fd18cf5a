package cluster

import (
	"crypto/x509"
	"encoding/pem"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testConfig(t *testing.T) *Config {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Dir = t.TempDir()
	cfg.KubeBin = "/opt/kube"
	cfg.KwokBin = "/opt/kwok/kwok"
	cfg.KwokStages = "/opt/kwok/stage"
	require.NoError(t, cfg.normalize())
	return &cfg
}

func parsePEMCert(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(data)
	require.NotNil(t, block)
	cert, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	return cert
}

func flagValue(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

func TestDefaultPorts(t *testing.T) {
	assert.Equal(t, Ports{EtcdClient: 12379, EtcdPeer: 12380, APIServer: 16443,
		ControllerManager: 17257, Scheduler: 17259, Kwok: 17247, PodRunner: 17250}, DefaultPorts())
}

func TestArgsLoopbackOnlyAndPorts(t *testing.T) {
	cfg := testConfig(t)
	for _, name := range ComponentNames() {
		args := cfg.Args(name)
		joined := strings.Join(args, " ")
		assert.NotRegexp(t, `(^|[=/ ])0\.0\.0\.0`, joined, name)
		assert.NotContains(t, joined, "insecure", name)
		for _, a := range args {
			assert.True(t, strings.HasPrefix(a, "--"), "%s: %q", name, a)
		}
		assert.True(t, ownedBy(append([]string{cfg.Binary(name)}, args...), cfg.Dir),
			"%s's command line names the state folder, so stop can find it", name)
	}

	etcd := cfg.Args(Etcd)
	for flag, want := range map[string]string{
		"--listen-client-urls":    "http://127.0.0.1:12379",
		"--listen-peer-urls":      "http://127.0.0.1:12380",
		"--data-dir":              filepath.Join(cfg.Dir, "etcd"),
		"--advertise-client-urls": "http://127.0.0.1:12379",
	} {
		got, ok := flagValue(etcd, flag)
		assert.True(t, ok, flag)
		assert.Equal(t, want, got, flag)
	}

	api := cfg.Args(APIServer)
	for flag, want := range map[string]string{
		"--bind-address":                     "127.0.0.1",
		"--secure-port":                      "16443",
		"--authorization-mode":               "Node,RBAC",
		"--service-cluster-ip-range":         "10.0.0.0/24",
		"--etcd-servers":                     "http://127.0.0.1:12379",
		"--client-ca-file":                   filepath.Join(cfg.Dir, "pki", "ca.crt"),
		"--service-account-issuer":           ServiceAccountIssuer,
		"--service-account-key-file":         filepath.Join(cfg.Dir, "pki", "sa.pub"),
		"--service-account-signing-key-file": filepath.Join(cfg.Dir, "pki", "sa.key"),
		"--audit-policy-file":                filepath.Join(cfg.Dir, "audit-policy.yaml"),
		"--audit-log-path":                   filepath.Join(cfg.Dir, "logs", "audit.log"),
	} {
		got, ok := flagValue(api, flag)
		assert.True(t, ok, flag)
		assert.Equal(t, want, got, flag)
	}
	plugins, _ := flagValue(api, "--enable-admission-plugins")
	for _, p := range []string{"NamespaceLifecycle", "ServiceAccount", "PodSecurity", "NodeRestriction"} {
		assert.Contains(t, strings.Split(plugins, ","), p)
	}

	kcm := cfg.Args(ControllerManager)
	assert.Contains(t, kcm, "--secure-port=17257")
	assert.Contains(t, kcm, "--bind-address=127.0.0.1")
	assert.Contains(t, kcm, "--leader-elect=false")
	assert.Contains(t, kcm, "--use-service-account-credentials=true")
	assert.Contains(t, kcm, "--root-ca-file="+filepath.Join(cfg.Dir, "pki", "ca.crt"))
	assert.Contains(t, kcm, "--service-account-private-key-file="+filepath.Join(cfg.Dir, "pki", "sa.key"))
	assert.Contains(t, kcm, "--kubeconfig="+filepath.Join(cfg.Dir, "kubeconfigs", "kube-controller-manager.kubeconfig"))
	controllers, _ := flagValue(kcm, "--controllers")
	assert.True(t, strings.HasPrefix(controllers, "*,"))
	assert.Contains(t, controllers, "-cloud-node-lifecycle-controller")

	sched := cfg.Args(Scheduler)
	assert.Contains(t, sched, "--secure-port=17259")
	assert.Contains(t, sched, "--bind-address=127.0.0.1")
	assert.Contains(t, sched, "--leader-elect=false")

	kwok := cfg.Args(Kwok)
	var configs []string
	for _, a := range kwok {
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			configs = append(configs, v)
		}
	}
	assert.Equal(t, []string{"/opt/kwok/stage/node/fast", "/opt/kwok/stage/node/heartbeat-with-lease",
		"/opt/kwok/stage/pod/fast/pod-ready.yaml", "/opt/kwok/stage/pod/fast/pod-complete.yaml",
		"/opt/kwok/stage/pod/fast/pod-delete.yaml"}, configs, "kwok's fast node and pod stages")
	assert.Contains(t, kwok, "--manage-all-nodes=false")
	assert.Contains(t, kwok, "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake")
	assert.Contains(t, kwok, "--server-address=127.0.0.1:17247")
	assert.Contains(t, kwok, "--node-port=17247", "without the pod runner, kwok is the nodes' kubelet")
	assert.Contains(t, kwok, "--cidr=10.244.0.0/17", "kwok's half of the pod range")
	assert.Contains(t, cfg.Env(Kwok), "HOME="+filepath.Join(cfg.Dir, "kwok"))
	assert.Equal(t, ComponentNames(), cfg.components(), "no pod runner unless it selects pods")

	assert.Equal(t, "/opt/kube/kube-apiserver", cfg.Binary(APIServer))
	assert.Equal(t, "/opt/kwok/kwok", cfg.Binary(Kwok))
}

func TestArgsFollowPorts(t *testing.T) {
	cfg := testConfig(t)
	cfg.Ports = Ports{EtcdClient: 1, EtcdPeer: 2, APIServer: 3, ControllerManager: 4, Scheduler: 5, Kwok: 6}
	assert.Contains(t, cfg.Args(Etcd), "--listen-client-urls=http://127.0.0.1:1")
	assert.Contains(t, cfg.Args(Etcd), "--initial-cluster=glrf-local=http://127.0.0.1:2")
	assert.Contains(t, cfg.Args(APIServer), "--secure-port=3")
	assert.Contains(t, cfg.Args(APIServer), "--etcd-servers=http://127.0.0.1:1")
	assert.Contains(t, cfg.Args(ControllerManager), "--secure-port=4")
	assert.Contains(t, cfg.Args(Scheduler), "--secure-port=5")
	assert.Contains(t, cfg.Args(Kwok), "--node-port=6")
	cfg.Ports.PodRunner = 7
	cfg.PodRunner.Selector = "app=x"
	assert.Contains(t, cfg.Args(Kwok), "--node-port=7", "with the pod runner, it is the nodes' kubelet")
	assert.Contains(t, cfg.Args(Kwok), "--server-address=127.0.0.1:6")
	assert.Contains(t, cfg.Args(PodRunner), "--listen=127.0.0.1:7")
	assert.Contains(t, cfg.Args(PodRunner), "--kwok=127.0.0.1:6")
	assert.Contains(t, cfg.Args(PodRunner), "--apiserver=127.0.0.1:3")
	assert.Equal(t, "https://127.0.0.1:3", cfg.APIServerURL())
	assert.Equal(t, "https://127.0.0.1:3/readyz", cfg.healthURL(APIServer))
}

func TestNormalizeRejectsClashingPorts(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Dir = "rel/dir"
	cfg.Ports.Kwok = cfg.Ports.APIServer
	assert.ErrorContains(t, cfg.normalize(), "port 16443 given to both kube-apiserver and kwok")
	cfg.Ports = DefaultPorts()
	require.NoError(t, cfg.normalize())
	assert.True(t, filepath.IsAbs(cfg.Dir))
}

func TestMissingBinariesNamesBuildCommand(t *testing.T) {
	cfg := testConfig(t)
	cfg.KubeBin = t.TempDir()
	err := cfg.CheckBinaries()
	require.Error(t, err)
	assert.Contains(t, err.Error(), filepath.Join(cfg.KubeBin, "kube-apiserver"))
	assert.Contains(t, err.Error(), "make tools")
	assert.Contains(t, err.Error(), "tools/toolchain.sh")
	assert.Len(t, cfg.MissingBinaries(), len(ComponentNames())+len(KwokStageDirs))
}

func TestOwnedBy(t *testing.T) {
	dir := "/state/cluster"
	assert.True(t, ownedBy([]string{"/bin/etcd", "--data-dir=/state/cluster/etcd"}, dir))
	assert.False(t, ownedBy([]string{"/bin/etcd", "--data-dir=/state/cluster2/etcd"}, dir), "other folder with the same prefix")
	assert.False(t, ownedBy([]string{"tail", "-f", "/state/cluster/logs/etcd.log"}, dir), "not a component")
	assert.False(t, ownedBy([]string{"/usr/bin/go", "run", "./cmd/cluster", "stop", "--dir", "/state/cluster"}, dir))
	assert.False(t, ownedBy(nil, dir))
	assert.True(t, ownedBy([]string{"/x/cluster", "pod-runner", "--state-dir=/state/cluster/run/pod-runner"}, dir), "the pod runner")
	assert.True(t, ownedBy([]string{"/x/cluster", "sandbox", "--scratch=/state/cluster/kwok-sandbox", "--", "/k/kwok"}, dir), "kwok's sandbox")
	assert.False(t, ownedBy([]string{"/x/cluster", "status", "--dir=/state/cluster"}, dir), "another cluster command")
	assert.True(t, slices.Equal(ComponentNames(), []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}))
}

func TestFakeNode(t *testing.T) {
	node := FakeNode(2)
	assert.Equal(t, "kwok-node-2", node.Name)
	assert.Equal(t, "kwok-node-2", node.Labels["kubernetes.io/hostname"])
	assert.Equal(t, "kwok", node.Labels["type"])
	assert.Equal(t, "fake", node.Annotations["kwok.x-k8s.io/node"])
	assert.Empty(t, node.Spec.Taints)
	assert.Equal(t, "32", node.Status.Allocatable.Cpu().String())
	assert.Equal(t, "256Gi", node.Status.Allocatable.Memory().String())
	assert.Equal(t, "110", node.Status.Allocatable.Pods().String())
}

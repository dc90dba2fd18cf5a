package cluster

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/tools/clientcmd"
)

func TestKubeconfigContent(t *testing.T) {
	data, err := Kubeconfig("https://127.0.0.1:16443", "admin", []byte("CA"), []byte("CERT"), []byte("KEY"))
	require.NoError(t, err)
	cfg, err := clientcmd.Load(data)
	require.NoError(t, err)
	assert.Equal(t, ContextName, cfg.CurrentContext)
	ctx := cfg.Contexts[ContextName]
	require.NotNil(t, ctx)
	assert.Equal(t, "admin", ctx.AuthInfo)
	cluster := cfg.Clusters[ctx.Cluster]
	require.NotNil(t, cluster)
	assert.Equal(t, "https://127.0.0.1:16443", cluster.Server)
	assert.Equal(t, []byte("CA"), cluster.CertificateAuthorityData)
	assert.False(t, cluster.InsecureSkipTLSVerify)
	user := cfg.AuthInfos["admin"]
	require.NotNil(t, user)
	assert.Equal(t, []byte("CERT"), user.ClientCertificateData)
	assert.Equal(t, []byte("KEY"), user.ClientKeyData)
	assert.Contains(t, string(data), "certificate-authority-data:", "CA embedded, not a file path")
	assert.NotContains(t, string(data), "client-certificate:")
}

func TestWriteKubeconfigs(t *testing.T) {
	cfg := testConfig(t)
	cfg.Ports.APIServer = 26443
	_, err := cfg.pki().Ensure()
	require.NoError(t, err)
	require.NoError(t, cfg.writeKubeconfigs())

	want := map[string]string{
		cfg.KubeconfigPath():                       "admin",
		cfg.componentKubeconfig(ControllerManager): "system:kube-controller-manager",
		cfg.componentKubeconfig(Scheduler):         "system:kube-scheduler",
		cfg.componentKubeconfig(Kwok):              "kwok-controller",
	}
	for path, cn := range want {
		st, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
		rc, err := clientcmd.BuildConfigFromFlags("", path)
		require.NoError(t, err)
		assert.Equal(t, "https://127.0.0.1:26443", rc.Host)
		cert := parsePEMCert(t, rc.CertData)
		assert.Equal(t, cn, cert.Subject.CommonName, path)
		assert.NotEmpty(t, rc.KeyData)
		assert.NotEmpty(t, rc.CAData)
	}

	path, err := KubeconfigFile(*cfg)
	require.NoError(t, err)
	assert.Equal(t, cfg.KubeconfigPath(), path)
	_, err = KubeconfigFile(Config{Dir: t.TempDir()})
	assert.ErrorContains(t, err, "run `start` first")
}

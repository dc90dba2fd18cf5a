package cluster

import (
	"fmt"
	"os"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ContextName names the cluster, user context and context in kubeconfigs.
const ContextName = "glrf-local"

// Kubeconfig renders a kubeconfig for server that authenticates with a
// client certificate, every file embedded so it can be copied anywhere.
func Kubeconfig(server, user string, caPEM, certPEM, keyPEM []byte) ([]byte, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[ContextName] = &clientcmdapi.Cluster{
		Server:                   server,
		CertificateAuthorityData: caPEM,
	}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{
		ClientCertificateData: certPEM,
		ClientKeyData:         keyPEM,
	}
	cfg.Contexts[ContextName] = &clientcmdapi.Context{Cluster: ContextName, AuthInfo: user}
	cfg.CurrentContext = ContextName
	return clientcmd.Write(*cfg)
}

// APIServerURL is the apiserver's address.
func (c *Config) APIServerURL() string { return loopbackURL("https", c.Ports.APIServer) }

// kubeconfigCerts maps each kubeconfig written under the state folder to the
// client certificate it uses.
func (c *Config) kubeconfigCerts() map[string]string {
	return map[string]string{
		c.KubeconfigPath():                       CertAdmin,
		c.componentKubeconfig(ControllerManager): CertControllerManager,
		c.componentKubeconfig(Scheduler):         CertScheduler,
		c.componentKubeconfig(Kwok):              CertKwok,
		c.componentKubeconfig(PodRunner):         CertPodRunner,
	}
}

// writeKubeconfigs writes the admin kubeconfig and the components' ones.
func (c *Config) writeKubeconfigs() error {
	pki := c.pki()
	ca, err := os.ReadFile(pki.CertFile(CertCA))
	if err != nil {
		return err
	}
	for path, name := range c.kubeconfigCerts() {
		cert, err := os.ReadFile(pki.CertFile(name))
		if err != nil {
			return err
		}
		key, err := os.ReadFile(pki.KeyFile(name))
		if err != nil {
			return err
		}
		data, err := Kubeconfig(c.APIServerURL(), name, ca, cert, key)
		if err != nil {
			return fmt.Errorf("render %s: %w", path, err)
		}
		if err := writeFile(path, data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// RESTConfig is the admin client configuration of the cluster.
func (c *Config) RESTConfig() (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", c.KubeconfigPath())
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 50, 100
	return cfg, nil
}

// KubeconfigFile returns the absolute path of the admin kubeconfig, and an
// error when the cluster was never started in cfg.Dir.
func KubeconfigFile(cfg Config) (string, error) {
	if err := cfg.normalize(); err != nil {
		return "", err
	}
	path := cfg.KubeconfigPath()
	if _, err := os.Stat(path); err != nil {
		return path, fmt.Errorf("%s does not exist yet: run `start` first", path)
	}
	return path, nil
}

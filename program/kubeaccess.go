package program

import (
	"fmt"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// KubeAccess locates a cluster as the Kubernetes provider does: an explicit
// kubeconfig (a path or its content) and context, else KUBECONFIG and
// ~/.kube/config.
type KubeAccess struct {
	Kubeconfig string
	Context    string
}

// Client connects to the cluster, with a timeout on every request so that an
// unreachable cluster never hangs `up`.
func (a KubeAccess) Client() (kubernetes.Interface, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	overrides := &clientcmd.ConfigOverrides{CurrentContext: a.Context}
	var loader clientcmd.ClientConfig
	switch {
	case a.Kubeconfig == "":
		loader = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	case strings.Contains(a.Kubeconfig, "apiVersion:") || strings.Contains(a.Kubeconfig, "\"apiVersion\""):
		config, err := clientcmd.Load([]byte(a.Kubeconfig))
		if err != nil {
			return nil, fmt.Errorf("reading the kubeconfig: %w", err)
		}
		loader = clientcmd.NewNonInteractiveClientConfig(*config, a.Context, overrides, nil)
	default:
		rules.ExplicitPath = a.Kubeconfig
		loader = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	}
	rest, err := loader.ClientConfig()
	if err != nil {
		return nil, err
	}
	rest.Timeout = 15 * time.Second
	return kubernetes.NewForConfig(rest)
}

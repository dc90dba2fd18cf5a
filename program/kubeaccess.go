package program

import (
	"fmt"
	"strings"
	"sync"
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

// connectOnce makes kube connect to each cluster once per run, whoever asks
// (the prerequisites, the runners in use, the rollout), and hand the same
// client, or the same error, to every later caller.
func connectOnce(kube func(KubeAccess) (kubernetes.Interface, error)) func(KubeAccess) (kubernetes.Interface, error) {
	type connection struct {
		client kubernetes.Interface
		err    error
	}
	var mu sync.Mutex
	done := map[KubeAccess]connection{}
	return func(a KubeAccess) (kubernetes.Interface, error) {
		mu.Lock()
		defer mu.Unlock()
		c, ok := done[a]
		if !ok {
			c.client, c.err = kube(a)
			done[a] = c
		}
		return c.client, c.err
	}
}

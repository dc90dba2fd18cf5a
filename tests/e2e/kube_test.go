//go:build e2e

package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// restConfig is the suite cluster's admin access.
func restConfig(t testing.TB) *rest.Config {
	t.Helper()
	config, err := clientcmd.BuildConfigFromFlags("", h.kubeconfig)
	require.NoError(t, err)
	return config
}

// kube is a client of the suite's cluster as its administrator.
func kube(t testing.TB) kubernetes.Interface {
	t.Helper()
	client, err := kubernetes.NewForConfig(restConfig(t))
	require.NoError(t, err)
	return client
}

// kubeAs is a client that acts as a ServiceAccount (impersonation), so the
// API server decides with that account's rights.
func kubeAs(t testing.TB, namespace, serviceAccount string) kubernetes.Interface {
	t.Helper()
	config := restConfig(t)
	config.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + namespace + ":" + serviceAccount}
	client, err := kubernetes.NewForConfig(config)
	require.NoError(t, err)
	return client
}

// podLife is what a podWatcher saw of one pod.
type podLife struct {
	Name string
	// Requested is when its deletion was asked for (deletionTimestamp minus
	// its grace period); zero while nobody asked.
	Requested time.Time
	// Gone is when the watcher first saw it missing; zero while it exists.
	Gone time.Time
}

// podWatcher polls the pods of a namespace and records when each one's
// deletion was requested and when it was gone.
type podWatcher struct {
	mu    sync.Mutex
	pods  map[string]*podLife // by UID
	stop  chan struct{}
	done  chan struct{}
	every []func(present []corev1.Pod)
}

func watchPods(t testing.TB, namespace, selector string, every ...func(present []corev1.Pod)) *podWatcher {
	t.Helper()
	client := kube(t)
	w := &podWatcher{pods: map[string]*podLife{}, stop: make(chan struct{}), done: make(chan struct{}), every: every}
	go func() {
		defer close(w.done)
		for {
			list, err := client.CoreV1().Pods(namespace).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
			now := time.Now()
			if err == nil {
				w.observe(list.Items, now)
			}
			select {
			case <-w.stop:
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(w.Stop)
	return w
}

func (w *podWatcher) observe(pods []corev1.Pod, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	present := map[string]bool{}
	for _, p := range pods {
		uid := string(p.UID)
		present[uid] = true
		life, ok := w.pods[uid]
		if !ok {
			life = &podLife{Name: p.Name}
			w.pods[uid] = life
		}
		if p.DeletionTimestamp != nil && life.Requested.IsZero() {
			grace := int64(0)
			if p.DeletionGracePeriodSeconds != nil {
				grace = *p.DeletionGracePeriodSeconds
			}
			life.Requested = p.DeletionTimestamp.Add(-time.Duration(grace) * time.Second)
		}
	}
	for uid, life := range w.pods {
		if !present[uid] && life.Gone.IsZero() {
			life.Gone = now
		}
	}
	for _, f := range w.every {
		f(pods)
	}
}

// Stop ends the polling.
func (w *podWatcher) Stop() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// Deleted lists the pods whose deletion was requested and that are gone.
func (w *podWatcher) Deleted() []podLife {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []podLife
	for _, life := range w.pods {
		if !life.Requested.IsZero() && !life.Gone.IsZero() {
			out = append(out, *life)
		}
	}
	return out
}

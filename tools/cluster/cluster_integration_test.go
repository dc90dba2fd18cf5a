//go:build e2e

package cluster

import (
	"bytes"
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
)

// testContext ends 30 s before the test binary's own deadline (go test
// -timeout, 10 minutes by default), so that a wait that runs out fails with
// its own message and the cluster is still stopped, rather than the binary
// panicking.
func testContext(t *testing.T) context.Context {
	deadline, ok := t.Deadline()
	if !ok {
		deadline = time.Now().Add(15 * time.Minute)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline.Add(-30*time.Second))
	t.Cleanup(cancel)
	return ctx
}

// TestStartStop runs the real control plane: it needs the binaries that
// `make tools` builds, and fails (not skips) without them.
func TestStartStop(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.CheckBinaries(); err != nil {
		t.Fatalf("TestStartStop needs the control-plane binaries: %v", err)
	}
	cfg.Dir = t.TempDir()
	// Not the default ports, so that the test cluster does not clash with a
	// dev cluster.
	ports, err := FreePorts()
	require.NoError(t, err)
	cfg.Ports = ports
	t.Cleanup(func() {
		if err := Stop(cfg, &testWriter{t}, false); err != nil {
			t.Errorf("cleanup stop: %v", err)
		}
	})
	ctx := testContext(t)

	began := time.Now()
	require.NoError(t, Start(ctx, cfg, &testWriter{t}))
	t.Logf("start took %s", time.Since(began).Round(time.Millisecond))

	// Idempotent: a second start finds it healthy.
	var out bytes.Buffer
	require.NoError(t, Start(ctx, cfg, &out))
	assert.Contains(t, out.String(), "already running and healthy")

	t.Run("start waits for a running component that is slow to answer", func(t *testing.T) {
		// A stopped process answers nothing until it is continued, as a
		// starved one on a busy machine answers late: that is no reason to
		// restart the cluster.
		pid := readPid(cfg.Dir, Scheduler)
		const pause = 5 * time.Second
		require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
		resume := time.AfterFunc(pause, func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
		t.Cleanup(func() {
			resume.Stop()
			_ = syscall.Kill(pid, syscall.SIGCONT)
		})
		began := time.Now()
		var out bytes.Buffer
		require.NoError(t, Start(ctx, cfg, &out))
		assert.Contains(t, out.String(), "already running and healthy")
		assert.NotContains(t, out.String(), "restarting")
		assert.Equal(t, pid, readPid(cfg.Dir, Scheduler), "the same kube-scheduler process")
		assert.GreaterOrEqual(t, time.Since(began), pause, "start waited for it")
	})

	rc, err := cfg.RESTConfig()
	require.NoError(t, err)
	cs, err := kubernetes.NewForConfig(rc)
	require.NoError(t, err)

	t.Run("Secrets encrypted at rest", func(t *testing.T) {
		testSecretsEncryptedInEtcd(t, ctx, cs, cfg)
	})

	t.Run("readyz", func(t *testing.T) {
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		require.NoError(t, err)
		assert.Equal(t, "ok", string(body))
	})

	t.Run("nodes ready", func(t *testing.T) {
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "type=kwok"})
		require.NoError(t, err)
		require.Len(t, nodes.Items, 3)
		for _, n := range nodes.Items {
			assert.True(t, NodeReady(&n), "%s Ready", n.Name)
			assert.Equal(t, n.Name, n.Labels["kubernetes.io/hostname"])
			assert.Equal(t, "32", n.Status.Allocatable.Cpu().String())
		}
	})

	t.Run("EnsureNodes redoes a write another writer made stale", func(t *testing.T) {
		testEnsureNodesConflict(t, ctx, cs, rc)
	})
	t.Run("EnsureNodes adopts a node another writer created first", func(t *testing.T) {
		testEnsureNodesCreateRace(t, ctx, cs, rc)
	})

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   "restricted-test",
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"},
	}}
	_, err = cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{})
	require.NoError(t, err)
	waitFor(t, ctx, "default ServiceAccount in "+ns.Name, func() bool {
		_, err := cs.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil
	})

	t.Run("pod runs on a kwok node", func(t *testing.T) {
		runsOnKwokNode(t, ctx, cs, ns.Name, "pause")
	})

	t.Run("PodSecurity admission rejects a privileged pod", func(t *testing.T) {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "privileged"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name:            "c",
				Image:           "registry.k8s.io/pause:3.10",
				SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)},
			}}},
		}
		_, err := cs.CoreV1().Pods(ns.Name).Create(ctx, pod, metav1.CreateOptions{})
		require.Error(t, err)
		assert.True(t, apierrors.IsForbidden(err), "%v", err)
		assert.Contains(t, err.Error(), "violates PodSecurity")
		// In a namespace without the label it is allowed: the refusal above
		// is PodSecurity's, not --allow-privileged's.
		_, err = cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		assert.NoError(t, err)
	})

	t.Run("RBAC denies a service account without bindings", func(t *testing.T) {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "nobody"}}
		_, err := cs.CoreV1().ServiceAccounts(ns.Name).Create(ctx, sa, metav1.CreateOptions{})
		require.NoError(t, err)
		review := func(user string, groups []string) *authorizationv1.SubjectAccessReview {
			r, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
				Spec: authorizationv1.SubjectAccessReviewSpec{
					User:   user,
					Groups: groups,
					ResourceAttributes: &authorizationv1.ResourceAttributes{
						Namespace: ns.Name, Verb: "list", Resource: "pods",
					},
				},
			}, metav1.CreateOptions{})
			require.NoError(t, err)
			return r
		}
		denied := review("system:serviceaccount:"+ns.Name+":nobody",
			[]string{"system:serviceaccounts", "system:serviceaccounts:" + ns.Name, "system:authenticated"})
		assert.False(t, denied.Status.Allowed, "%+v", denied.Status)
		allowed := review("admin", []string{"system:masters", "system:authenticated"})
		assert.True(t, allowed.Status.Allowed, "control: admin may list pods")
	})

	report, err := Status(ctx, cfg)
	require.NoError(t, err)
	var status bytes.Buffer
	report.Print(&status)
	t.Logf("status:\n%s", status.String())
	assert.True(t, report.Healthy())

	var pids []int
	for _, name := range ComponentNames() {
		pids = append(pids, readPid(cfg.Dir, name))
	}
	require.NoError(t, Stop(cfg, &testWriter{t}, false))
	for i, pid := range pids {
		assert.False(t, alive(pid, cfg.Dir), "%s (pid %d) still running", ComponentNames()[i], pid)
	}
	assert.Empty(t, strayProcesses(cfg.Dir), "no process left whose command line names %s", cfg.Dir)
	report, err = Status(ctx, cfg)
	require.NoError(t, err)
	assert.False(t, report.Healthy())
	assert.FileExists(t, cfg.KubeconfigPath(), "data kept for the next start")
	assert.DirExists(t, cfg.etcdDataDir())

	t.Run("restart on the kept data", func(t *testing.T) {
		// The nodes still show Ready from before the stop, but a new kwok
		// plays pods only on nodes whose Lease it holds, and would wait for
		// the old kwok's Leases to expire (40 s) to take them: start removes
		// those, and returns once the new kwok holds new ones.
		restarted := time.Now()
		require.NoError(t, Start(ctx, cfg, &testWriter{t}))
		t.Logf("restart took %s", time.Since(restarted).Round(time.Millisecond))
		for i := range cfg.Nodes {
			lease, err := cs.CoordinationV1().Leases(NodeLeaseNamespace).Get(ctx, NodeName(i), metav1.GetOptions{})
			require.NoError(t, err)
			require.NotNil(t, lease.Spec.RenewTime)
			assert.True(t, lease.Spec.RenewTime.After(restarted), "%s's Lease renewed by the new kwok: %s, restart at %s",
				NodeName(i), lease.Spec.RenewTime, restarted)
		}
		runsOnKwokNode(t, ctx, cs, ns.Name, "after-restart")
	})
}

// runsOnKwokNode creates a pod that passes the restricted Pod Security level
// in namespace and waits for it to run on a kwok node.
func runsOnKwokNode(t *testing.T, ctx context.Context, cs kubernetes.Interface, namespace, name string) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   ptr.To(true),
				RunAsUser:      ptr.To[int64](65535),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:  "pause",
				Image: "registry.k8s.io/pause:3.10",
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
		},
	}
	_, err := cs.CoreV1().Pods(namespace).Create(ctx, pod, metav1.CreateOptions{})
	require.NoError(t, err, "a restricted-compliant pod is admitted")
	var got *corev1.Pod
	waitFor(t, ctx, "pod "+name+" Running", func() bool {
		got, err = cs.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		return err == nil && got.Status.Phase == corev1.PodRunning
	})
	assert.True(t, strings.HasPrefix(got.Spec.NodeName, "kwok-node-"), "scheduled on %q", got.Spec.NodeName)
	assert.NotEmpty(t, got.Status.PodIP)
}

func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// testWriter sends Start's and Stop's output to the test log.
type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

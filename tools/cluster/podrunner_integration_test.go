//go:build e2e

package cluster

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/utils/ptr"
)

// The pod runner's end-to-end test: a private control plane on free ports
// with the pod runner on, pods of a fake "runner" image (a small Go program,
// podrunner/testdata/fakerunner, that reports what it sees) run for real.

const (
	fakeImageRepo = "registry.example/fake-runner"
	testSelector  = "glrf-test/run=true"
	tmpfsMagic    = "0x1021994"
)

// requirePodRunner fails the test, saying why, where the pod runner cannot
// run: it needs root for its namespaces and mounts.
func requirePodRunner(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the pod runner's tests need root (CAP_SYS_ADMIN for PID, mount and network namespaces, tmpfs and overlay mounts); run them as root")
	}
	cmd := exec.Command("/bin/true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS | syscall.CLONE_NEWNET}
	if err := cmd.Run(); err != nil {
		t.Fatalf("the pod runner's tests need new PID, mount and network namespaces (unshare), which this machine refuses: %v", err)
	}
}

// buildTool builds a package of this module into dir/name.
func buildTool(t *testing.T, pkg, dir, name string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", append(append([]string{"build"}, testBuildFlags...), "-o", out, pkg)...)
	output, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build %s: %s", pkg, output)
	return out
}

func randomID(t *testing.T) string {
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

// podRunnerCluster is the test's cluster and what its pods need.
type podRunnerCluster struct {
	cfg      Config
	rc       *rest.Config
	cs       kubernetes.Interface
	ns       string
	hostAddr string // a host HTTP server the pods reach through a forward
	testID   string // in every fake process' command line
}

func TestPodRunner(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.CheckBinaries(); err != nil {
		t.Fatalf("TestPodRunner needs the control-plane binaries: %v", err)
	}
	requirePodRunner(t)
	// The ServiceAccount's mount path goes through the link /var/run ->
	// /run on most systems: it must be followed inside the container's root.
	const saDir = "/run/secrets/kubernetes.io/serviceaccount"
	if _, err := os.Stat(saDir); err == nil {
		t.Fatalf("%s exists on this machine: remove it, the test checks that the pod runner never creates it", saDir)
	}
	t.Cleanup(func() { assert.NoDirExists(t, saDir, "a container's mount point made on the host") })
	bin := t.TempDir()
	cfg.ClusterBin = buildTool(t, "../cmd/cluster", bin, "cluster")
	imageDir := t.TempDir()
	buildTool(t, "./podrunner/testdata/fakerunner", imageDir, "gitlab-runner")

	host, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hostSrv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "hello from the host")
	})}
	go func() { _ = hostSrv.Serve(host) }()
	t.Cleanup(func() { hostSrv.Close() })

	cfg.Dir = t.TempDir()
	cfg.Ports, err = FreePorts()
	require.NoError(t, err)
	cfg.PodRunner = PodRunnerConfig{
		Selector: testSelector,
		Images:   map[string]string{fakeImageRepo: imageDir},
		Forwards: []string{host.Addr().String()},
	}
	pc := &podRunnerCluster{cfg: cfg, hostAddr: host.Addr().String(), testID: randomID(t)}
	t.Cleanup(func() {
		if err := Stop(cfg, &testWriter{t}, false); err != nil {
			t.Errorf("cleanup stop: %v", err)
		}
		assert.Empty(t, pc.fakeProcesses(), "no process of a pod left after stop")
		// Built with -race when the test is: the runner's own report.
		runnerLog, _ := os.ReadFile(logPath(cfg.Dir, PodRunner))
		assert.NotContains(t, string(runnerLog), "DATA RACE")
		assert.NotContains(t, string(runnerLog), "panic:")
	})
	ctx := testContext(t)
	require.NoError(t, Start(ctx, cfg, &testWriter{t}))
	pc.rc, err = cfg.RESTConfig()
	require.NoError(t, err)
	pc.cs, err = kubernetes.NewForConfig(pc.rc)
	require.NoError(t, err)
	pc.setup(t, ctx)

	a := pc.createPod(t, ctx, fakePod{name: "runner-a", env: map[string]string{"FAKE_RELEASE": "/tmp/release"}})
	b := pc.createPod(t, ctx, fakePod{name: "runner-b"})
	pc.waitReady(t, ctx, a.Name, true)
	pc.waitReady(t, ctx, b.Name, true)

	t.Run("the container sees what a pod gets", func(t *testing.T) { pc.checkStart(t, ctx, a.Name) })
	t.Run("each pod has its own network namespace", func(t *testing.T) {
		for _, name := range []string{a.Name, b.Name} {
			start := pc.waitEvent(t, ctx, name, "start")
			assert.EqualValues(t, 1, start["pid"], "%s's command is PID 1", name)
			assert.Empty(t, pc.events(t, ctx, name, "listen-failed"), "%s listens on :9252 beside the other", name)
		}
		pa, err := pc.cs.CoreV1().Pods(pc.ns).Get(ctx, a.Name, metav1.GetOptions{})
		require.NoError(t, err)
		pb, err := pc.cs.CoreV1().Pods(pc.ns).Get(ctx, b.Name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.NotEqual(t, pa.Status.PodIP, pb.Status.PodIP)
		_, runnerRange, _ := net.ParseCIDR(RunnerPodCIDR)
		assert.True(t, runnerRange.Contains(net.ParseIP(pa.Status.PodIP)), "pod IP %s from the runner's range", pa.Status.PodIP)
	})
	t.Run("exec runs in the container, with stdin and stdout", func(t *testing.T) {
		out, _, err := pc.exec(ctx, pc.ns, a.Name, "runner", "ping\n", "sh", "-c", "cat; id -u; hostname; cat /proc/1/cmdline | tr '\\0' ' '")
		require.NoError(t, err)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		require.Len(t, lines, 4, out)
		assert.Equal(t, "ping", lines[0])
		assert.Equal(t, "100", lines[1], "as the container's user")
		assert.Equal(t, a.Name, lines[2], "in its UTS namespace")
		assert.Contains(t, lines[3], "gitlab-runner run", "in its PID namespace: PID 1 is the container's command")
		_, _, err = pc.exec(ctx, pc.ns, a.Name, "runner", "", "sh", "-c", "exit 3")
		assert.ErrorContains(t, err, "exit code 3")
	})
	t.Run("readiness follows the probe", func(t *testing.T) {
		_, _, err := pc.exec(ctx, pc.ns, b.Name, "runner", "", "touch", "/tmp/unready")
		require.NoError(t, err)
		pc.waitReady(t, ctx, b.Name, false)
		pod, err := pc.cs.CoreV1().Pods(pc.ns).Get(ctx, b.Name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, corev1.PodRunning, pod.Status.Phase, "unready, still running")
		_, _, err = pc.exec(ctx, pc.ns, b.Name, "runner", "", "rm", "/tmp/unready")
		require.NoError(t, err)
		pc.waitReady(t, ctx, b.Name, true)
	})
	t.Run("a failed liveness probe restarts the container with a fresh writable layer", func(t *testing.T) {
		pc.checkLivenessRestart(t, ctx)
	})
	t.Run("exec into a job pod runs a local command in kwok's sandbox", func(t *testing.T) {
		pc.checkJobExec(t, ctx)
	})
	t.Run("the kubelet endpoints answer root only", func(t *testing.T) {
		pc.checkRootOnlyEndpoints(t)
	})
	t.Run("deletion: preStop, then SIGTERM, and the pod goes only once the process exited", func(t *testing.T) {
		pc.checkDeletionOrder(t, ctx, a)
	})
	t.Run("deletion: SIGKILL at the end of the grace period", func(t *testing.T) {
		pc.checkGraceExhausted(t, ctx)
	})
	t.Run("a crashed pod runner leaves no process, and the next one restarts the pods", func(t *testing.T) {
		pc.checkRunnerCrash(t, ctx, b.Name)
	})
}

// setup creates the namespace, the ServiceAccount and the objects the fake
// pods' environment and volumes name.
func (pc *podRunnerCluster) setup(t *testing.T, ctx context.Context) {
	pc.ns = "fleet"
	_, err := pc.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: pc.ns}}, metav1.CreateOptions{})
	require.NoError(t, err)
	core := pc.cs.CoreV1()
	_, err = core.ServiceAccounts(pc.ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "runner"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	// The exec and logs a test does go through the API server as the
	// admin; the runner's ServiceAccount may only read pods.
	_, err = pc.cs.RbacV1().Roles(pc.ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "runner"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = core.Secrets(pc.ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "creds"},
		Data:       map[string][]byte{"token": []byte("s3cret")},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = core.ConfigMaps(pc.ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "settings"},
		Data:       map[string]string{"url": "http://gitlab.example", "ONE": "1", "config.toml": "concurrent = 4\n"},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	waitFor(t, ctx, "ServiceAccounts and kube-root-ca.crt in "+pc.ns, func() bool {
		_, err1 := core.ServiceAccounts(pc.ns).Get(ctx, "default", metav1.GetOptions{})
		_, err2 := core.ConfigMaps(pc.ns).Get(ctx, "kube-root-ca.crt", metav1.GetOptions{})
		return err1 == nil && err2 == nil
	})
}

// fakePod describes a pod of the fake runner image.
type fakePod struct {
	name         string
	env          map[string]string
	grace        int64
	liveness     *corev1.Probe
	writableRoot bool
}

// createPod creates a pod as a fleet's manager looks, in the test's terms.
func (pc *podRunnerCluster) createPod(t *testing.T, ctx context.Context, p fakePod) *corev1.Pod {
	t.Helper()
	env := []corev1.EnvVar{
		{Name: "PLAIN", Value: "plain value"},
		{Name: "EXPANDED", Value: "$(PLAIN) and $(CM_ONE)"},
		{Name: "FROM_SECRET", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "token"}}},
		{Name: "FROM_CONFIGMAP", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}, Key: "url"}}},
		{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
		{Name: "MEMORY_LIMIT_MI", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
		{Name: "FAKE_FILES", Value: strings.Join([]string{
			"/etc/fake/config.toml", "/secrets/token", "/podinfo/labels",
			"/var/run/secrets/kubernetes.io/serviceaccount/namespace",
			"/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
			"/var/run/secrets/kubernetes.io/serviceaccount/token",
		}, ",")},
		{Name: "FAKE_STATFS", Value: "/scratch"},
		{Name: "FAKE_UNREADY", Value: "/tmp/unready"},
		{Name: "FAKE_FETCH", Value: "http://" + pc.hostAddr + "/"},
	}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range p.env {
			if !yield(k) {
				return
			}
		}
	}) {
		env = append(env, corev1.EnvVar{Name: k, Value: p.env[k]})
	}
	grace := p.grace
	if grace == 0 {
		grace = 60
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: p.name, Labels: map[string]string{"glrf-test/run": "true", "app": "fake-runner"}},
		Spec: corev1.PodSpec{
			ServiceAccountName:            "runner",
			TerminationGracePeriodSeconds: &grace,
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](100), RunAsGroup: ptr.To[int64](65533), FSGroup: ptr.To[int64](65533),
			},
			Containers: []corev1.Container{{
				Name:    "runner",
				Image:   fakeImageRepo + ":v1.2.3",
				Command: []string{"gitlab-runner"},
				Args:    []string{"run", "--test-id=" + pc.testID},
				Env:     env,
				EnvFrom: []corev1.EnvFromSource{{Prefix: "CM_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "settings"}}}},
				Ports:   []corev1.ContainerPort{{Name: "metrics", ContainerPort: 9252}},
				Resources: corev1.ResourceRequirements{
					Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
				},
				StartupProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(9252)}},
					PeriodSeconds: 1, FailureThreshold: 60,
				},
				ReadinessProbe: &corev1.Probe{
					ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/metrics", Port: intstr.FromString("metrics")}},
					PeriodSeconds: 1, FailureThreshold: 1,
				},
				LivenessProbe: p.liveness,
				Lifecycle: &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{
					Exec: &corev1.ExecAction{Command: []string{"gitlab-runner", "prestop"}},
				}},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					ReadOnlyRootFilesystem:   ptr.To(!p.writableRoot),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
				VolumeMounts: []corev1.VolumeMount{
					{Name: "files", MountPath: "/etc/fake"},
					{Name: "creds", MountPath: "/secrets"},
					{Name: "scratch", MountPath: "/scratch"},
					{Name: "podinfo", MountPath: "/podinfo"},
					{Name: "tmp", MountPath: "/tmp"},
				},
			}},
			Volumes: []corev1.Volume{
				{Name: "files", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: "settings"},
					Items:                []corev1.KeyToPath{{Key: "config.toml", Path: "config.toml", Mode: ptr.To[int32](0o600)}},
				}}},
				{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds", DefaultMode: ptr.To[int32](0o400)}}},
				{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: ptr.To(resource.MustParse("8Mi"))}}},
				{Name: "podinfo", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
					Items: []corev1.DownwardAPIVolumeFile{{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}}},
				}}},
				{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			},
		},
	}
	created, err := pc.cs.CoreV1().Pods(pc.ns).Create(ctx, pod, metav1.CreateOptions{})
	require.NoError(t, err)
	return created
}

// waitReady waits for the pod's Ready condition to be ready, and reports
// the containers' states if it does not come.
func (pc *podRunnerCluster) waitReady(t *testing.T, ctx context.Context, name string, ready bool) {
	t.Helper()
	var last *corev1.Pod
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		pod, err := pc.cs.CoreV1().Pods(pc.ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			last = pod
			if conditionIs(pod, corev1.PodReady, ready) {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	status, _ := json.MarshalIndent(last.Status, "", "  ")
	t.Fatalf("pod %s never became Ready=%v; status: %s\npod runner log:\n%s", name, ready, status, tail(logPath(pc.cfg.Dir, PodRunner), 30))
}

func conditionIs(pod *corev1.Pod, t corev1.PodConditionType, want bool) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == t {
			return (c.Status == corev1.ConditionTrue) == want
		}
	}
	return false
}

// logEvents parses the fake runner's JSON lines.
func logEvents(text string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1024*1024), 1024*1024)
	for sc.Scan() {
		var ev map[string]any
		if json.Unmarshal(sc.Bytes(), &ev) == nil {
			out = append(out, ev)
		}
	}
	return out
}

// events are the pod's events named event, read through the API (the
// runner's kubelet endpoint serves the logs).
func (pc *podRunnerCluster) events(t *testing.T, ctx context.Context, pod, event string) []map[string]any {
	t.Helper()
	raw, err := pc.cs.CoreV1().Pods(pc.ns).GetLogs(pod, &corev1.PodLogOptions{Container: "runner"}).DoRaw(ctx)
	if err != nil {
		return nil
	}
	var out []map[string]any
	for _, ev := range logEvents(string(raw)) {
		if ev["event"] == event {
			out = append(out, ev)
		}
	}
	return out
}

func (pc *podRunnerCluster) waitEvent(t *testing.T, ctx context.Context, pod, event string) map[string]any {
	t.Helper()
	var got []map[string]any
	waitFor(t, ctx, fmt.Sprintf("event %q in %s's log", event, pod), func() bool {
		got = pc.events(t, ctx, pod, event)
		return len(got) > 0
	})
	return got[len(got)-1]
}

// diskEvents reads the events of every run of a pod's container from the
// log files, which outlive the pod.
func (pc *podRunnerCluster) diskEvents(t *testing.T, pod *corev1.Pod) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(pc.cfg.Dir, "logs", "pods", pod.Namespace+"_"+pod.Name+"_"+string(pod.UID), "runner", "*.log"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "the pod's log files")
	var names []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, line := range strings.Split(string(data), "\n") {
			fields := strings.SplitN(line, " ", 4)
			if len(fields) == 4 {
				for _, ev := range logEvents(fields[3]) {
					names = append(names, ev["event"].(string))
				}
			}
		}
	}
	return names
}

// exec runs a command in a container through the API server, as kubectl
// exec does.
func (pc *podRunnerCluster) exec(ctx context.Context, ns, pod, container, stdin string, command ...string) (string, string, error) {
	req := pc.cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: container, Command: command, Stdin: stdin != "", Stdout: true, Stderr: true,
		}, scheme.ParameterCodec)
	ex, err := remotecommand.NewSPDYExecutor(pc.rc, http.MethodPost, req.URL())
	if err != nil {
		return "", "", err
	}
	var stdout, stderr bytes.Buffer
	opts := remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr}
	if stdin != "" {
		opts.Stdin = strings.NewReader(stdin)
	}
	err = ex.StreamWithContext(ctx, opts)
	return stdout.String(), stderr.String(), err
}

// fakeProcesses lists the host's processes of the test's fake runners.
func (pc *podRunnerCluster) fakeProcesses() []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if slices.Contains(cmdline(pid), "--test-id="+pc.testID) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func (pc *podRunnerCluster) checkStart(t *testing.T, ctx context.Context, name string) {
	start := pc.waitEvent(t, ctx, name, "start")
	assert.EqualValues(t, 1, start["pid"], "the container's command is PID 1")
	assert.EqualValues(t, 100, start["uid"], "runAsUser")
	assert.EqualValues(t, 65533, start["gid"], "runAsGroup")
	assert.Contains(t, start["groups"], float64(65533), "the fsGroup is a supplementary group")
	assert.Equal(t, name, start["hostname"])

	pod, err := pc.cs.CoreV1().Pods(pc.ns).Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	env := start["env"].(map[string]any)
	for k, want := range map[string]string{
		"PLAIN": "plain value", "EXPANDED": "plain value and 1", "FROM_SECRET": "s3cret",
		"FROM_CONFIGMAP": "http://gitlab.example", "CM_ONE": "1", "POD_NAME": name,
		"POD_IP": pod.Status.PodIP, "MEMORY_LIMIT_MI": "256",
		"KUBERNETES_SERVICE_HOST": ServiceClusterIP, "KUBERNETES_SERVICE_PORT": "443",
		"HOSTNAME": name,
	} {
		assert.Equal(t, want, env[k], "env %s", k)
	}
	assert.True(t, strings.HasPrefix(env["PATH"].(string), "/usr/local/lib/glrf-image/bin:"), "the image's folder first on PATH: %s", env["PATH"])

	files := start["files"].(map[string]any)
	file := func(p string) map[string]any {
		f, ok := files[p].(map[string]any)
		require.True(t, ok, "file %s reported", p)
		assert.Empty(t, f["error"], "%s readable by the container's user", p)
		return f
	}
	cfgFile := file("/etc/fake/config.toml")
	assert.Equal(t, "concurrent = 4\n", cfgFile["content"])
	assert.Equal(t, "0640", cfgFile["mode"], "item mode 0600, and read for the fsGroup")
	assert.EqualValues(t, 65533, cfgFile["gid"])
	token := file("/secrets/token")
	assert.Equal(t, "s3cret", token["content"])
	assert.Equal(t, "0440", token["mode"], "defaultMode 0400, and read for the fsGroup")
	assert.Contains(t, file("/podinfo/labels")["content"], `glrf-test/run="true"`)
	assert.Equal(t, pc.ns, file("/var/run/secrets/kubernetes.io/serviceaccount/namespace")["content"])
	assert.Contains(t, file("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt")["content"], "BEGIN CERTIFICATE")
	assert.NotEmpty(t, file("/var/run/secrets/kubernetes.io/serviceaccount/token")["content"])

	scratch := start["statfs"].(map[string]any)["/scratch"].(map[string]any)
	assert.Equal(t, tmpfsMagic, scratch["type"], "an emptyDir of medium Memory is a tmpfs")
	assert.EqualValues(t, 8*1024*1024, scratch["bytes"], "sized by its sizeLimit")

	whoami := pc.waitEvent(t, ctx, name, "whoami")
	user := "system:serviceaccount:" + pc.ns + ":runner"
	assert.Equal(t, user, whoami["user"], "the in-cluster client is the pod's ServiceAccount: %v", whoami)
	assert.Equal(t, "https://"+ServiceClusterIP+":443", whoami["host"], "through the kubernetes Service's address")
	assert.Contains(t, whoami["listSecrets"], "forbidden", "RBAC judges the ServiceAccount")
	assert.Contains(t, whoami["listSecrets"], user)

	fetch := pc.waitEvent(t, ctx, name, "fetch")
	assert.Equal(t, "hello from the host", fetch["body"], "a forwarded host address: %v", fetch)

	require.Len(t, pod.Status.ContainerStatuses, 1)
	cs := pod.Status.ContainerStatuses[0]
	assert.True(t, cs.Ready)
	assert.True(t, ptr.Deref(cs.Started, false), "the startup probe (tcpSocket) passed")
	assert.Zero(t, cs.RestartCount)
	require.NotNil(t, cs.State.Running)
	assert.Equal(t, "127.0.0.1", pod.Status.HostIP)

	events, err := pc.cs.CoreV1().Events(pc.ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + name + ",reason=Started"})
	require.NoError(t, err)
	require.NotEmpty(t, events.Items, "a Started event")
	assert.Equal(t, "pod-runner", events.Items[0].Source.Component)
	assert.Equal(t, "spec.containers{runner}", events.Items[0].InvolvedObject.FieldPath)
}

func (pc *podRunnerCluster) checkLivenessRestart(t *testing.T, ctx context.Context) {
	pod := pc.createPod(t, ctx, fakePod{name: "runner-live", writableRoot: true, liveness: &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", "test ! -e /var/tmp/dead"}}},
		PeriodSeconds: 1, FailureThreshold: 1,
	}})
	pc.waitReady(t, ctx, pod.Name, true)
	// /var/tmp is in the container's writable layer (no volume).
	_, _, err := pc.exec(ctx, pc.ns, pod.Name, "runner", "", "touch", "/var/tmp/dead")
	require.NoError(t, err)
	var got *corev1.Pod
	waitFor(t, ctx, "the container restarted and Ready again", func() bool {
		got, err = pc.cs.CoreV1().Pods(pc.ns).Get(ctx, pod.Name, metav1.GetOptions{})
		return err == nil && len(got.Status.ContainerStatuses) == 1 &&
			got.Status.ContainerStatuses[0].RestartCount == 1 && conditionIs(got, corev1.PodReady, true)
	})
	cs := got.Status.ContainerStatuses[0]
	require.NotNil(t, cs.LastTerminationState.Terminated, "the killed run is the last state")
	require.NotNil(t, cs.State.Running)
	_, _, err = pc.exec(ctx, pc.ns, pod.Name, "runner", "", "test", "!", "-e", "/var/tmp/dead")
	assert.NoError(t, err, "the new run has a fresh writable layer")
	assert.Len(t, pc.events(t, ctx, pod.Name, "start"), 1, "the logs are the current run's")
	prev, err := pc.cs.CoreV1().Pods(pc.ns).GetLogs(pod.Name, &corev1.PodLogOptions{Container: "runner", Previous: true}).DoRaw(ctx)
	require.NoError(t, err)
	assert.Contains(t, string(prev), `"event":"sigterm"`, "the previous run was stopped with SIGTERM")

	// A container that exits (here on SIGTERM from inside) is restarted too,
	// after a longer back-off.
	_, _, err = pc.exec(ctx, pc.ns, pod.Name, "runner", "", "kill", "-TERM", "1")
	if err != nil {
		// When PID 1 exits first, the kernel kills the rest of its
		// namespace, this kill included.
		require.ErrorContains(t, err, "exit code 137")
	}
	waitFor(t, ctx, "the exited container restarted", func() bool {
		got, err = pc.cs.CoreV1().Pods(pc.ns).Get(ctx, pod.Name, metav1.GetOptions{})
		return err == nil && got.Status.ContainerStatuses[0].RestartCount == 2 && got.Status.ContainerStatuses[0].State.Running != nil
	})
	last := got.Status.ContainerStatuses[0].LastTerminationState.Terminated
	require.NotNil(t, last)
	assert.Equal(t, int32(0), last.ExitCode, "it exited on its own")
	assert.Equal(t, "Completed", last.Reason)
	require.NoError(t, pc.cs.CoreV1().Pods(pc.ns).Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](1)}))
}

func (pc *podRunnerCluster) checkJobExec(t *testing.T, ctx context.Context) {
	const jobs = "fleet-jobs"
	_, err := pc.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: jobs}}, metav1.CreateOptions{})
	require.NoError(t, err)
	waitFor(t, ctx, "default ServiceAccount in "+jobs, func() bool {
		_, err := pc.cs.CoreV1().ServiceAccounts(jobs).Get(ctx, "default", metav1.GetOptions{})
		return err == nil
	})
	// Two job pods of one project, shaped as the runner's executor shapes
	// them: /builds is an emptyDir both containers mount.
	// The helper also mounts two subPaths of it: one plain, one through a
	// link the build container makes to leave the volume.
	jobPod := func(name string) *corev1.Pod {
		mounts := []corev1.VolumeMount{{Name: "repo", MountPath: "/builds"}}
		helperMounts := append(slices.Clone(mounts),
			corev1.VolumeMount{Name: "repo", MountPath: "/sub", SubPath: "sub"},
			corev1.VolumeMount{Name: "repo", MountPath: "/escape", SubPath: "out/glrf-escape-" + pc.testID})
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{
				Containers: []corev1.Container{
					{Name: "build", Image: "alpine:3.22", VolumeMounts: mounts},
					{Name: "helper", Image: "registry.gitlab.com/gitlab-org/gitlab-runner/gitlab-runner-helper:x86_64-v19.3.0", VolumeMounts: helperMounts},
				},
				Volumes: []corev1.Volume{{Name: "repo", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			},
		}
	}
	a, b := jobPod("runner-abc-project-1-concurrent-0"), jobPod("runner-abc-project-1-concurrent-1")
	for _, p := range []*corev1.Pod{a, b} {
		_, err = pc.cs.CoreV1().Pods(jobs).Create(ctx, p, metav1.CreateOptions{})
		require.NoError(t, err)
		waitFor(t, ctx, p.Name+" Running (kwok plays it)", func() bool {
			got, err := pc.cs.CoreV1().Pods(jobs).Get(ctx, p.Name, metav1.GetOptions{})
			return err == nil && got.Status.Phase == corev1.PodRunning
		})
	}
	dir := "/builds/glrf-test-" + pc.testID
	script := `read line; echo "got:$line"; id -u; id -G; pwd; mkdir -p ` + dir + ` && echo a > ` + dir + `/f && cat ` + dir + `/f; command -v gitlab-runner-build`
	out, stderr, err := pc.exec(ctx, jobs, a.Name, "build", "hello\n", "sh", "-c", script)
	require.NoError(t, err, "stderr: %s", stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 6, out)
	assert.Equal(t, "got:hello", lines[0], "stdin reaches the command")
	assert.Equal(t, strconv.Itoa(JobUID), lines[1], "never root")
	assert.Equal(t, strconv.Itoa(JobGID), lines[2], "no other group")
	assert.Equal(t, "/", lines[3])
	assert.Equal(t, "a", lines[4], "/builds is writable")
	assert.Equal(t, "/usr/local/lib/glrf-job/bin/gitlab-runner-build", lines[5], "the helper image's entrypoint stand-in")
	assert.NoDirExists(t, dir, "the job wrote into kwok's sandbox, not the host's /builds")

	run := func(pod, container, script string) (string, error) {
		out, stderr, err := pc.exec(ctx, jobs, pod, container, "", "bash", "-c", script)
		if err != nil {
			return out, fmt.Errorf("%w (stderr: %s)", err, stderr)
		}
		return strings.TrimSpace(out), nil
	}
	_, err = run(a.Name, "build", "mkdir /builds/sub && echo s > /builds/sub/f && ln -s / /builds/out")
	require.NoError(t, err)
	out, err = run(a.Name, "helper", "cat "+dir+"/f /sub/f")
	assert.NoError(t, err, "the helper container sees the build container's /builds (one emptyDir)")
	assert.Equal(t, "a\ns", out, "one emptyDir, and its subPath")
	out, err = run(a.Name, "build", "test ! -e /glrf-escape-"+pc.testID+" && test -d /builds/glrf-escape-"+pc.testID+" && echo inside")
	assert.NoError(t, err, "a subPath through a link out of the volume")
	assert.Equal(t, "inside", out, "the link out of the volume resolved inside it")
	_, err = run(b.Name, "build", "test ! -e "+dir+" && mkdir -p "+dir+" && echo b > "+dir+"/f")
	assert.NoError(t, err, "another job pod has a /builds of its own, empty")
	out, err = run(a.Name, "build", "cat "+dir+"/f; ls /var/lib/glrf-job-pods 2>&1 >/dev/null | grep -c 'Permission denied'")
	assert.NoError(t, err)
	assert.Equal(t, "a\n1", out, "what the other pod wrote is not in this one; the pods' folders are root's")
	out, err = run(a.Name, "build", "grep NoNewPrivs /proc/self/status")
	assert.NoError(t, err)
	assert.Equal(t, "NoNewPrivs:\t1", out, "no setuid program makes a job root")
	_, err = run(a.Name, "build", "echo x > /tmp/mine")
	require.NoError(t, err)
	_, err = run(a.Name, "build", "test -e /tmp/mine")
	assert.NoError(t, err, "a container keeps its /tmp from one exec to the next")
	_, err = run(a.Name, "helper", "test ! -e /tmp/mine")
	assert.NoError(t, err, "/tmp is the container's own")

	// Jobs reach the forwarded addresses (the local GitLab) and nothing
	// else: not kwok's server, which runs any exec it is asked for as root.
	host, port, _ := net.SplitHostPort(pc.hostAddr)
	_, err = run(a.Name, "build", "exec 3<>/dev/tcp/"+host+"/"+port)
	assert.NoError(t, err, "a job reaches the forwarded host address")
	for name, p := range map[string]int{"kwok": pc.cfg.Ports.Kwok, "the API server": pc.cfg.Ports.APIServer, "etcd": pc.cfg.Ports.EtcdClient} {
		_, err = run(a.Name, "build", "exec 3<>/dev/tcp/127.0.0.1/"+strconv.Itoa(p))
		assert.Error(t, err, "a job must not reach %s", name)
	}

	_, err = run(a.Name, "svc-0", "true")
	assert.Error(t, err, "only build and helper containers run commands")
}

// checkRootOnlyEndpoints sends a plain HTTP request to kwok's server (which
// execs anything as root in its sandbox) and to the pod runner's kubelet
// endpoint, as root and as nobody: root gets an HTTP answer (a TLS server
// answers a plain request with a 400), nobody's connection is closed
// unanswered.
func (pc *podRunnerCluster) checkRootOnlyEndpoints(t *testing.T) {
	for name, port := range map[string]int{"kwok's server": pc.cfg.Ports.Kwok, "the pod runner's kubelet endpoint": pc.cfg.Ports.PodRunner} {
		ask := func(uid uint32) string {
			cmd := exec.Command("bash", "-c", fmt.Sprintf(`exec 3<>/dev/tcp/127.0.0.1/%d && printf 'GET /healthz HTTP/1.0\r\n\r\n' >&3 && timeout 10 cat <&3`, port))
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
			out, _ := cmd.CombinedOutput()
			return string(out)
		}
		assert.Contains(t, ask(0), "HTTP/1.", "root reaches %s", name)
		assert.NotContains(t, ask(65534), "HTTP/", "another user must not reach %s", name)
	}
}

func (pc *podRunnerCluster) checkDeletionOrder(t *testing.T, ctx context.Context, pod *corev1.Pod) {
	require.NoError(t, pc.cs.CoreV1().Pods(pc.ns).Delete(ctx, pod.Name, metav1.DeleteOptions{}))
	sigterm := pc.waitEvent(t, ctx, pod.Name, "sigterm")
	assert.Equal(t, true, sigterm["prestopRan"], "the preStop hook ran before SIGTERM")
	// The process waits for /tmp/release: the pod must still be there.
	got, err := pc.cs.CoreV1().Pods(pc.ns).Get(ctx, pod.Name, metav1.GetOptions{})
	require.NoError(t, err, "the pod stays while its process runs")
	assert.NotNil(t, got.DeletionTimestamp)
	assert.NotEmpty(t, pc.fakeProcessesOf(pod), "its process still runs")
	_, _, err = pc.exec(ctx, pc.ns, pod.Name, "runner", "", "touch", "/tmp/release")
	require.NoError(t, err)
	waitFor(t, ctx, "the pod removed", func() bool {
		_, err := pc.cs.CoreV1().Pods(pc.ns).Get(ctx, pod.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	events := pc.diskEvents(t, pod)
	assert.Equal(t, "exit", events[len(events)-1], "the process exited on its own before the pod went: %v", events)
	assert.Empty(t, pc.fakeProcessesOf(pod))
}

// fakeProcessesOf lists the fake processes of one pod (by its hostname).
func (pc *podRunnerCluster) fakeProcessesOf(pod *corev1.Pod) []int {
	var out []int
	for _, pid := range pc.fakeProcesses() {
		env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if slices.Contains(strings.Split(string(env), "\x00"), "POD_NAME="+pod.Name) {
			out = append(out, pid)
		}
	}
	return out
}

func (pc *podRunnerCluster) checkGraceExhausted(t *testing.T, ctx context.Context) {
	pod := pc.createPod(t, ctx, fakePod{name: "runner-stubborn", grace: 3, env: map[string]string{"FAKE_IGNORE_TERM": "1"}})
	pc.waitReady(t, ctx, pod.Name, true)
	require.NotEmpty(t, pc.fakeProcessesOf(pod))
	require.NoError(t, pc.cs.CoreV1().Pods(pc.ns).Delete(ctx, pod.Name, metav1.DeleteOptions{}))
	waitFor(t, ctx, "the pod removed after its grace period", func() bool {
		_, err := pc.cs.CoreV1().Pods(pc.ns).Get(ctx, pod.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	events := pc.diskEvents(t, pod)
	assert.Contains(t, events, "ignoring-sigterm")
	assert.NotContains(t, events, "exit", "it never exited on its own")
	assert.Empty(t, pc.fakeProcessesOf(pod), "SIGKILL ended it")
	assert.Contains(t, tail(logPath(pc.cfg.Dir, PodRunner), 200), "grace period over: SIGKILL")
}

func (pc *podRunnerCluster) checkRunnerCrash(t *testing.T, ctx context.Context, survivor string) {
	old, err := pc.cs.CoreV1().Pods(pc.ns).Get(ctx, survivor, metav1.GetOptions{})
	require.NoError(t, err)
	before := pc.fakeProcesses()
	require.NotEmpty(t, before)
	pid := readPid(pc.cfg.Dir, PodRunner)
	require.True(t, alive(pid, pc.cfg.Dir))
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	waitFor(t, ctx, "every pod process gone with the pod runner", func() bool {
		return len(pc.fakeProcesses()) == 0
	})
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	require.NoError(t, err)
	assert.NotContains(t, string(mounts), pc.cfg.Dir, "no mount of the runner's is visible on the host")

	require.NoError(t, Start(ctx, pc.cfg, &testWriter{t}))
	pc.waitReady(t, ctx, survivor, true)
	pod, err := pc.cs.CoreV1().Pods(pc.ns).Get(ctx, survivor, metav1.GetOptions{})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, pod.Status.ContainerStatuses[0].RestartCount, int32(1), "started again as a restart")
	assert.Equal(t, old.Status.PodIP, pod.Status.PodIP, "the pod keeps its IP")
	assert.NotEmpty(t, pc.fakeProcesses())
}

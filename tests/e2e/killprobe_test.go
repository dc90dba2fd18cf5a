//go:build e2e

package e2e

// The harness stops what it started even when its test binary is killed:
// a test starts this binary again as a harness of its own (killProbeEnv),
// which sets up exactly as the suite does and runs a pod through the pod
// runner, then SIGKILLs it and looks for anything left.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

// killProbeEnv set makes TestMain set up and then run runKillProbe instead
// of the tests.
const killProbeEnv = "GLRF_E2E_KILL_PROBE"

// killProbeReady is what the probe prints once everything runs.
type killProbeReady struct {
	Marker     string `json:"marker"`
	Tmp        string `json:"tmp"`
	ClusterDir string `json:"clusterDir"`
	PodMarker  string `json:"podMarker"`
}

// runKillProbe runs a pod through the pod runner, prints a killProbeReady
// line once its process runs, and waits to be killed.
func runKillProbe() int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "kill probe:", err)
		return 1
	}
	config, err := clientcmd.BuildConfigFromFlags("", h.kubeconfig)
	if err != nil {
		return fail(err)
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return fail(err)
	}
	podMarker := "glrf-kill-probe-" + os.Getenv(runMarkerEnv)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "kill-probe", Namespace: "default",
			Labels: map[string]string{"app.kubernetes.io/component": "runner-manager"}},
		Spec: corev1.PodSpec{
			AutomountServiceAccountToken:  ptr.To(false),
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			Containers: []corev1.Container{{
				Name:  "probe",
				Image: "registry.gitlab.com/gitlab-org/gitlab-runner:kill-probe",
				// Two commands, so the shell stays and its command line
				// carries the marker.
				Command: []string{"sh", "-c", "sleep 3600; echo " + podMarker},
				SecurityContext: &corev1.SecurityContext{RunAsUser: ptr.To[int64](65534), RunAsGroup: ptr.To[int64](65534),
					AllowPrivilegeEscalation: ptr.To(false)},
			}},
		},
	}
	if _, err := client.CoreV1().Pods("default").Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		return fail(err)
	}
	for deadline := time.Now().Add(5 * time.Minute); len(processesWith(podMarker)) == 0; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fail(fmt.Errorf("the pod runner did not run the probe pod within 5 minutes"))
		}
	}
	ready, err := json.Marshal(killProbeReady{Marker: os.Getenv(runMarkerEnv), Tmp: h.tmp, ClusterDir: h.clusterDir, PodMarker: podMarker})
	if err != nil {
		return fail(err)
	}
	fmt.Println(string(ready))
	select {} // until killed
}

// processesWith lists live processes whose command line contains s.
func processesWith(s string) map[int]string {
	found := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() || isZombie(pid) {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(data), s) {
			found[pid] = commandLine(pid)
		}
	}
	return found
}

// leftovers describes what of a probe run is still there: processes that
// carry its marker, its cluster's processes (kwok runs with an environment
// of its own), its pod's processes, and its folder.
func (p killProbeReady) leftovers() []string {
	var left []string
	for pid, cmdline := range markedProcesses(p.Marker, 0) {
		left = append(left, fmt.Sprintf("marked process %d: %s", pid, cmdline))
	}
	for pid, cmdline := range processesWith(p.ClusterDir) {
		left = append(left, fmt.Sprintf("cluster process %d: %s", pid, cmdline))
	}
	for pid, cmdline := range processesWith(p.PodMarker) {
		left = append(left, fmt.Sprintf("pod process %d: %s", pid, cmdline))
	}
	if _, err := os.Stat(p.Tmp); err == nil {
		left = append(left, "folder "+p.Tmp)
	}
	slices.Sort(left)
	return slices.Compact(left)
}

// The suite's harness, SIGKILLed once its GitLab, its cluster with the pod
// runner and a pod the pod runner runs are all up, leaves nothing behind:
// no control-plane process, no kwok, no pod runner or pod process, no GitLab
// stand-in, no folder.
func TestHarnessLeavesNothingWhenKilled(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	require.NoError(t, err)
	logPath := filepath.Join(t.TempDir(), "probe.log")
	logFile, err := os.Create(logPath)
	require.NoError(t, err)
	defer logFile.Close()
	probe := exec.Command(exe)
	probe.Env = append(os.Environ(), killProbeEnv+"=1")
	probe.Stderr = logFile
	stdout, err := probe.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, probe.Start())
	exited := make(chan error, 1)
	lines := make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			lines <- scanner.Text()
		}
		close(lines)
	}()
	probeLog := func() string { data, _ := os.ReadFile(logPath); return tail(string(data), 40) }

	var ready killProbeReady
	select {
	case line, ok := <-lines:
		require.True(t, ok, "the probe ended before it was ready; its log:\n%s", probeLog())
		require.NoError(t, json.Unmarshal([]byte(line), &ready), line)
	case <-time.After(10 * time.Minute):
		_ = probe.Process.Kill()
		t.Fatalf("the probe was not ready within 10 minutes; its log:\n%s", probeLog())
	}

	// Before: every piece runs, so the check after has teeth.
	marked := markedProcesses(ready.Marker, probe.Process.Pid)
	var names []string
	for _, cmdline := range marked {
		names = append(names, filepath.Base(strings.Fields(cmdline)[0]))
	}
	for _, want := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "gitlab-standin", "cluster"} {
		assert.Contains(t, names, want, "the probe's %s runs before the kill", want)
	}
	assert.NotEmpty(t, processesWith(ready.PodMarker), "the probe's pod runs before the kill")
	var kwok bool
	for _, cmdline := range processesWith(ready.ClusterDir) {
		kwok = kwok || filepath.Base(strings.Fields(cmdline)[0]) == "kwok"
	}
	assert.True(t, kwok, "kwok runs before the kill")

	require.NoError(t, probe.Process.Signal(syscall.SIGKILL))
	go func() { exited <- probe.Wait() }()
	<-exited
	var left []string
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(time.Second) {
		if left = ready.leftovers(); len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	assert.Empty(t, left, "3 minutes after the harness was killed; its log:\n%s", probeLog())
}

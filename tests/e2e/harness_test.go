//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/glrf/gitlab-runner-fleet/localengine"
)

// harness is the shared local environment of the suite.
type harness struct {
	root       string
	pulumiBin  string
	pulumiHome string
	kubeconfig string
	clusterDir string
	stateDir   string
	gitlabAPI  string // http://127.0.0.1:PORT/api/v4/
	gitlabAddr string // 127.0.0.1:PORT
	token      string // the stand-in's admin token
	gitlabDir  string
	runnerBin  string // $GLRF_RUNNER_BIN: gitlab-runner and gitlab-runner-helper
	tmp        string // everything the suite writes, removed at the end
	reaper     *reaper
}

var h *harness

func TestMain(m *testing.M) {
	if os.Getenv(reaperEnv) != "" {
		os.Exit(runReaper())
	}
	code, err := runSuite(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: setup failed:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func runSuite(m *testing.M) (int, error) {
	stop, err := setUp()
	if err != nil {
		return 0, err
	}
	defer stop()
	if os.Getenv(killProbeEnv) != "" {
		return runKillProbe(), nil
	}
	return m.Run(), nil
}

// setUp starts what the suite needs and returns how to stop it: the
// reaper first, then the GitLab stand-in (the cluster's pods are given its
// address), then the cluster with the pod runner, so that every fleet's
// managers run the real runner.
func setUp() (stop func(), err error) {
	root, err := filepath.Abs("../..")
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("kubectl"); err != nil {
		return nil, fmt.Errorf("the suite checks the cluster with kubectl, which is not on PATH: install a kubectl client")
	}
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("the suite runs the fleets' managers for real with the pod runner (tools/cluster/podrunner), which needs root for its namespaces and mounts: run it as root")
	}
	if err := toolchainEnv(root); err != nil {
		return nil, err
	}
	runnerBin := os.Getenv("GLRF_RUNNER_BIN")
	for _, name := range []string{"gitlab-runner", "gitlab-runner-helper"} {
		if _, err := os.Stat(filepath.Join(runnerBin, name)); err != nil {
			return nil, fmt.Errorf("GLRF_RUNNER_BIN=%q has no %s: run tools/toolchain.sh (make tools), which builds GitLab Runner, and export what `tools/toolchain.sh --env` prints", runnerBin, name)
		}
	}
	r, err := startReaper()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "glrf-e2e-")
	if err != nil {
		r.done()
		return nil, err
	}
	r.remove(tmp)
	h = &harness{
		root:       root,
		pulumiBin:  os.Getenv("GLRF_PULUMI"),
		pulumiHome: os.Getenv("PULUMI_HOME"),
		clusterDir: filepath.Join(tmp, "cluster"),
		stateDir:   filepath.Join(tmp, "state"),
		gitlabDir:  filepath.Join(tmp, "gitlab"),
		runnerBin:  runnerBin,
		tmp:        tmp,
		reaper:     r,
	}
	var stops []func()
	var once sync.Once
	stop = func() { once.Do(func() { stopAll(stops, tmp, r) }) }
	stopGitlab, err := h.startGitlab()
	if err != nil {
		stop()
		return nil, err
	}
	stops = append(stops, stopGitlab)
	stopCluster, err := h.startCluster()
	if err != nil {
		stop()
		return nil, err
	}
	stops = append(stops, stopCluster)
	// Ctrl-C or SIGTERM: stop everything before going.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-signals
		stop()
		os.Exit(1)
	}()
	return stop, nil
}

func stopAll(stops []func(), tmp string, r *reaper) {
	for i := len(stops) - 1; i >= 0; i-- {
		stops[i]()
	}
	_ = os.RemoveAll(tmp)
	r.done()
}

// toolchainEnv builds or reuses the toolchain (tools/toolchain.sh) unless the
// caller (make) already exported its locations.
func toolchainEnv(root string) error {
	if os.Getenv("GLRF_PULUMI") != "" && os.Getenv("GLRF_KUBE_BIN") != "" && os.Getenv("PULUMI_HOME") != "" && os.Getenv("GLRF_RUNNER_BIN") != "" {
		return nil
	}
	cmd := exec.Command(filepath.Join(root, "tools", "toolchain.sh"), "--env")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("tools/toolchain.sh failed (it builds pulumi, the Kubernetes provider, the control plane, kwok and GitLab Runner): %w", err)
	}
	scanner := bufio.NewScanner(bytes.NewReader(out))
	for scanner.Scan() {
		if k, v, ok := strings.Cut(strings.TrimPrefix(scanner.Text(), "export "), "="); ok {
			if err := os.Setenv(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// The suite's GitLab answers held job requests after gitlabLongPoll (GitLab's
// is 50 s): an idle manager that is told to stop finishes its held request
// first, so drains and rollouts go that much faster; and asks runners for a
// job's log every gitlabTraceInterval, GitLab's value while someone watches
// the job, so a cancel reaches them quickly.
const (
	gitlabLongPoll      = "5s"
	gitlabTraceInterval = "3s"
)

// startCluster starts a private cluster with the pod runner: every fleet's
// manager pods (label app.kubernetes.io/component=runner-manager) run the
// real GitLab Runner from $GLRF_RUNNER_BIN and reach the GitLab stand-in at
// its own address; exec into job pods runs the jobs' scripts in kwok's
// sandbox. The cluster tool picks its ports (--free-ports: free ones outside
// the kernel's ephemeral range, which no outgoing connection or listener on
// port 0 can take before the cluster binds them) and records them in its
// folder, with the kubeconfig for them.
func (h *harness) startCluster() (func(), error) {
	bin := filepath.Join(h.root, ".local", "bin", "cluster")
	h.reaper.cluster(bin, h.clusterDir)
	cmd := exec.Command(bin, "start", "--dir", h.clusterDir, "--free-ports",
		"--run-pods", managerPodSelector, "--pod-forward", h.gitlabAddr,
		"--image", mirroredRunnerImage+"="+h.runnerBin)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	stop := func() {
		stop := exec.Command(bin, "stop", "--purge", "--dir", h.clusterDir)
		stop.Stdout, stop.Stderr = os.Stderr, os.Stderr
		_ = stop.Run()
	}
	if err := cmd.Run(); err != nil {
		stop()
		return nil, fmt.Errorf("starting the local cluster: %w", err)
	}
	out, err := exec.Command(bin, "kubeconfig", "--dir", h.clusterDir).Output()
	if err != nil {
		stop()
		return nil, fmt.Errorf("asking the local cluster for its kubeconfig: %w", err)
	}
	h.kubeconfig = strings.TrimSpace(string(out))
	return stop, nil
}

// mirroredRunnerImage is the runner image's repository through the registry
// mirror of the committed production stack (its managers pull through it):
// the same binaries as the upstream repository, which the cluster maps to
// $GLRF_RUNNER_BIN by itself.
const mirroredRunnerImage = "registry.example.com/mirror/gitlab-runner"

// managerPodSelector selects the pods the pod runner runs: every fleet's
// managers.
const managerPodSelector = "app.kubernetes.io/component=runner-manager"

// httpClient calls the GitLab stand-in: a request that hangs fails instead
// of hanging the suite.
var httpClient = &http.Client{Timeout: time.Minute}

// gitlabStartTimeout bounds the stand-in's start, on a busy machine too.
const gitlabStartTimeout = 2 * time.Minute

// startGitlab starts the GitLab stand-in on a port the kernel picks as it
// binds it (no other program can take it in between); the stand-in writes
// that address to a file. It returns once the stand-in answers, or fails as
// soon as the stand-in exits, with the end of its log.
func (h *harness) startGitlab() (func(), error) {
	if err := os.MkdirAll(h.gitlabDir, 0o700); err != nil {
		return nil, err
	}
	logPath := filepath.Join(h.gitlabDir, "log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	addrFile := filepath.Join(h.gitlabDir, "addr")
	cmd := exec.Command(filepath.Join(h.root, ".local", "bin", "gitlab-standin"), "--listen", "127.0.0.1:0",
		"--addr-file", addrFile, "--state", filepath.Join(h.gitlabDir, "state.json"),
		"--token-file", filepath.Join(h.gitlabDir, "token"),
		"--long-poll-timeout", gitlabLongPoll, "--trace-update-interval", gitlabTraceInterval)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting the GitLab stand-in: %w", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	var once sync.Once
	stop := func() {
		once.Do(func() { _ = cmd.Process.Kill(); <-exited; logFile.Close() })
	}
	logTail := func() string {
		data, _ := os.ReadFile(logPath)
		return tail(string(data), 25)
	}

	health := &http.Client{Timeout: 5 * time.Second}
	answers := func() bool {
		addr, err := os.ReadFile(addrFile)
		if err != nil {
			return false // not listening yet
		}
		h.gitlabAddr = strings.TrimSpace(string(addr))
		h.gitlabAPI = "http://" + h.gitlabAddr + "/api/v4/"
		resp, err := health.Get(strings.TrimSuffix(h.gitlabAPI, "api/v4/") + "-/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	for deadline := time.Now().Add(gitlabStartTimeout); !answers(); {
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("the GitLab stand-in did not answer within %s; last lines of its log:\n%s", gitlabStartTimeout, logTail())
		}
		select {
		case <-exited:
			stop()
			return nil, fmt.Errorf("the GitLab stand-in exited while starting (%v); last lines of its log:\n%s", waitErr, logTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
	token, err := os.ReadFile(filepath.Join(h.gitlabDir, "token"))
	if err != nil {
		stop()
		return nil, err
	}
	h.token = strings.TrimSpace(string(token))
	return stop, nil
}

// gitlab calls the stand-in's API as the admin; it returns the status and body.
func (h *harness) gitlab(t testing.TB, method, path string, body any) (int, []byte) {
	t.Helper()
	var reader io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		require.NoError(t, err)
		reader = bytes.NewReader(data)
	}
	url := h.gitlabAPI + strings.TrimPrefix(path, "/")
	if strings.HasPrefix(path, "/-/") {
		url = strings.TrimSuffix(h.gitlabAPI, "api/v4/") + strings.TrimPrefix(path, "/")
	}
	req, err := http.NewRequest(method, url, reader)
	require.NoError(t, err)
	req.Header.Set("PRIVATE-TOKEN", h.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, data
}

// kubectl runs kubectl against the suite's cluster.
func (h *harness) kubectl(t testing.TB, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", h.kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (h *harness) mustKubectl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := h.kubectl(t, args...)
	require.NoError(t, err, "kubectl %s: %s", strings.Join(args, " "), out)
	return out
}

// testStack is one stack of the suite, in a temporary copy of the project.
type testStack struct {
	name  string
	dir   string
	stack auto.Stack
	// log collects everything the engine printed for this stack.
	log bytes.Buffer
}

// fleet is a fleet's settings as they appear in a stack file.
type fleet = map[string]any

func newStack(t testing.TB, name string, fleets ...fleet) *testStack {
	t.Helper()
	return newStackAt(t, name, nil, fleets...)
}

// newStackAt is newStack whose program reads the clock now (token
// rotation): tests move it forward to make a rotation due.
func newStackAt(t testing.TB, name string, now func() time.Time, fleets ...fleet) *testStack {
	t.Helper()
	s := &testStack{name: name, dir: t.TempDir()}
	data, err := os.ReadFile(filepath.Join(h.root, "Pulumi.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(s.dir, "Pulumi.yaml"), data, 0o644))
	s.writeConfig(t, map[string]any{
		"gitlab:baseUrl":                h.gitlabAPI,
		"kubernetes:context":            "glrf-local",
		"gitlab-runner-fleet:fleets":    fleets,
		"gitlab-runner-fleet:apiServer": suiteCluster().apiServer(t),
	})
	stack, err := localengine.Stack(context.Background(), name, localengine.Options{
		WorkDir: s.dir, StateDir: h.stateDir, PulumiHome: h.pulumiHome, PulumiBin: h.pulumiBin,
		Env: map[string]string{"KUBECONFIG": h.kubeconfig, "GITLAB_TOKEN": h.token},
		// Test stacks live in temporary folders: the local passphrase is fine.
		DevelopmentSecrets: true,
		Now:                now,
	})
	require.NoError(t, err)
	s.stack = stack
	t.Cleanup(func() {
		ctx := context.Background()
		_ = s.stack.Cancel(ctx) // a lock left by a test that killed its engine
		if _, err := s.stack.Destroy(ctx, optdestroy.ProgressStreams(&s.log)); err != nil {
			t.Logf("cleanup: destroying %s: %v", name, err)
		}
		_ = s.stack.Workspace().RemoveStack(ctx, name)
	})
	return s
}

func (s *testStack) file() string { return filepath.Join(s.dir, "Pulumi."+s.name+".yaml") }

// writeConfig replaces the stack file's config, keeping what the CLI added
// (the passphrase's encryption salt).
func (s *testStack) writeConfig(t testing.TB, config map[string]any) {
	t.Helper()
	doc := map[string]any{}
	if data, err := os.ReadFile(s.file()); err == nil {
		require.NoError(t, yaml.Unmarshal(data, &doc))
	}
	doc["config"] = config
	data, err := yaml.Marshal(doc)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(s.file(), data, 0o644))
}

// setConfig changes one stack setting in the file; nil removes it.
func (s *testStack) setConfig(t testing.TB, key string, value any) {
	t.Helper()
	doc := map[string]any{}
	data, err := os.ReadFile(s.file())
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(data, &doc))
	config, _ := doc["config"].(map[string]any)
	if value == nil {
		delete(config, key)
	} else {
		config[key] = value
	}
	s.writeConfig(t, config)
}

func (s *testStack) setFleets(t testing.TB, fleets ...fleet) {
	s.setConfig(t, "gitlab-runner-fleet:fleets", fleets)
}

func (s *testStack) up(t testing.TB, opts ...optup.Option) auto.UpResult {
	t.Helper()
	res, err := s.stack.Up(context.Background(), append(opts, optup.ProgressStreams(&s.log))...)
	require.NoError(t, err, "up failed; engine output:\n%s", tail(s.log.String(), 60))
	return res
}

func (s *testStack) preview(t testing.TB) auto.PreviewResult {
	t.Helper()
	res, err := s.stack.Preview(context.Background(), optpreview.ProgressStreams(&s.log), optpreview.Diff())
	require.NoError(t, err, "preview failed; engine output:\n%s", tail(s.log.String(), 60))
	return res
}

// previewSteps previews and returns the planned operation of every resource
// whose operation is not "same", keyed by "type name".
func (s *testStack) previewSteps(t testing.TB, opts ...optpreview.Option) (map[string]string, auto.PreviewResult) {
	t.Helper()
	ch := make(chan events.EngineEvent)
	steps := map[string]string{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range ch {
			if e.ResourcePreEvent == nil {
				continue
			}
			md := e.ResourcePreEvent.Metadata
			switch md.Op {
			case apitype.OpSame, apitype.OpRead:
				// A read (the API server's addresses) plans no change.
			case apitype.OpCreateReplacement, apitype.OpDeleteReplaced, apitype.OpReplace:
				// A replacement shows as several steps; one word for all of them.
				steps[md.Type+" "+resource.URN(md.URN).Name()] = "replace"
			default:
				steps[md.Type+" "+resource.URN(md.URN).Name()] = string(md.Op)
			}
		}
	}()
	opts = append(opts, optpreview.ProgressStreams(&s.log), optpreview.Diff(), optpreview.EventStreams(ch))
	res, err := s.stack.Preview(context.Background(), opts...)
	require.NoError(t, err, "preview failed; engine output:\n%s", tail(s.log.String(), 60))
	// A preview that ran closes the stream when it returns; one that failed
	// before the engine started may never have opened it.
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the preview's event stream was not closed")
	}
	return steps, res
}

func (s *testStack) refresh(t testing.TB) auto.RefreshResult {
	t.Helper()
	res, err := s.stack.Refresh(context.Background(), optrefresh.ProgressStreams(&s.log))
	require.NoError(t, err, "refresh failed; engine output:\n%s", tail(s.log.String(), 60))
	return res
}

func (s *testStack) outputs(t testing.TB) auto.OutputMap {
	t.Helper()
	out, err := s.stack.Outputs(context.Background())
	require.NoError(t, err)
	return out
}

// runnerID is a fleet's runner id from the stack outputs.
func (s *testStack) runnerID(t testing.TB, fleetName string) string {
	t.Helper()
	fleets, _ := s.outputs(t)["fleets"].Value.(map[string]any)
	f, _ := fleets[fleetName].(map[string]any)
	id, _ := f["runnerId"].(string)
	require.NotEmpty(t, id, "runner id of %s", fleetName)
	return id
}

// changes drops "same" from an engine change summary.
func changes[K ~string](summary map[K]int) map[string]int {
	out := map[string]int{}
	for op, n := range summary {
		if op != "same" && n > 0 {
			out[string(op)] = n
		}
	}
	return out
}

// rolloutTimeout bounds a wait for a StatefulSet's rollout: generous, for a
// busy machine (5 minutes were not enough for three managers rolling onto a
// new token at a load average of 25 on 2 cores); nothing asserts how fast a
// rollout is.
const rolloutTimeout = "--timeout=10m"

// waitReady waits for a fleet's StatefulSet to finish rolling out; if it
// does not, the failure shows the pods and events.
func waitReady(t testing.TB, namespace, name string) {
	t.Helper()
	args := []string{"rollout", "status", "statefulset/" + name, "-n", namespace, rolloutTimeout}
	out, err := h.kubectl(t, args...)
	require.NoError(t, err, "kubectl %s: %s\n%s", strings.Join(args, " "), out, podsReport(t, namespace))
}

// podsReport is what a failed wait on a namespace's pods shows: each pod's
// identity, readiness and container states, the nodes' readiness (a
// starved kwok lets them lapse) and the namespace's events, oldest first.
func podsReport(t testing.TB, namespace string) string {
	t.Helper()
	pods, _ := h.kubectl(t, "get", "pods", "-n", namespace, "-o", "custom-columns="+
		"NAME:.metadata.name,UID:.metadata.uid,CREATED:.metadata.creationTimestamp,DELETING:.metadata.deletionTimestamp,"+
		`READY:.status.conditions[?(@.type=="Ready")].status,RESTARTS:.status.containerStatuses[*].restartCount,`+
		"STATE:.status.containerStatuses[*].state,LAST:.status.containerStatuses[*].lastState")
	nodes, _ := h.kubectl(t, "get", "nodes", "-o", `custom-columns=NAME:.metadata.name,READY:.status.conditions[?(@.type=="Ready")].status`)
	events, _ := h.kubectl(t, "get", "events", "-n", namespace, "--sort-by=.lastTimestamp")
	return fmt.Sprintf("pods in %s:\n%s\nnodes:\n%s\nevents in %s:\n%s", namespace, pods, nodes, namespace, tail(events, 60))
}

func tail(s string, lines int) string {
	all := strings.Split(s, "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// groupFleet is a small group runner fleet named name.
func groupFleet(name string, groupID int) fleet {
	return fleet{
		"name":    name,
		"runner":  map[string]any{"type": "group_type", "groupId": groupID, "tags": []string{"e2e"}},
		"manager": map[string]any{"replicas": 2, "antiAffinity": "required"},
	}
}

// tokenSecret returns the name and the runner token of the fleet's only
// token Secret (auto-named <fleet>-token-xxxxxxxx).
func tokenSecret(t testing.TB, fleetName string) (name, token string) {
	t.Helper()
	secrets := fleetObjects(t, "secrets", "gitlab-runner-"+fleetName, fleetName)
	require.Len(t, secrets, 1, "one token Secret")
	name = secrets[0].Metadata.Name
	require.True(t, strings.HasPrefix(name, fleetName+"-token-"), "auto-named Secret: %s", name)
	data, err := base64.StdEncoding.DecodeString(secrets[0].Data["runner-token"])
	require.NoError(t, err)
	return name, string(data)
}

// deployment is the stack's state as the backend stores it.
func deployment(t testing.TB, s *testStack) apitype.DeploymentV3 {
	t.Helper()
	exported, err := s.stack.Export(context.Background())
	require.NoError(t, err)
	var d apitype.DeploymentV3
	require.NoError(t, json.Unmarshal(exported.Deployment, &d))
	return d
}

// tokenOf is the runner token held by the fleet's Secret.
func tokenOf(t testing.TB, fleetName string) string {
	t.Helper()
	_, token := tokenSecret(t, fleetName)
	return token
}

// fleetObject is the part of a Kubernetes object these tests look at.
type fleetObject struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Data   map[string]string `json:"data"`
	Status struct {
		ReadyReplicas int `json:"readyReplicas"`
	} `json:"status"`
	Spec struct {
		Replicas int `json:"replicas"`
	} `json:"spec"`
}

// fleetObjects lists the objects of one kind that carry the fleet's instance
// label in namespace. It reads kubectl's stdout only: "No resources found"
// and a missing namespace are not errors, just no objects.
func fleetObjects(t testing.TB, kind, namespace, fleetName string) []fleetObject {
	t.Helper()
	cmd := exec.Command("kubectl", "--kubeconfig", h.kubeconfig, "get", kind, "-n", namespace,
		"-l", "app.kubernetes.io/instance="+fleetName, "-o", "json")
	out, err := cmd.Output()
	var stderr []byte
	if exitErr, ok := err.(*exec.ExitError); ok {
		stderr = exitErr.Stderr
	}
	require.NoError(t, err, "kubectl get %s: %s", kind, stderr)
	var list struct {
		Items []fleetObject `json:"items"`
	}
	require.NoError(t, json.Unmarshal(out, &list), string(out))
	return list.Items
}

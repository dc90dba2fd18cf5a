// Package cluster runs a local Kubernetes control plane (etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler) with kwok fake
// nodes, all bound to loopback, as background processes whose state lives in
// one folder.
package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// Versions of the binaries the toolchain builds.
const (
	KubeVersion = "v1.34.4"
	KwokVersion = "v0.8.0"
)

// BuildHint tells how to get the binaries.
const BuildHint = "build them with `make tools` (runs tools/toolchain.sh)"

// Config says where the binaries are, where the state goes and which ports
// to use.
type Config struct {
	// Dir is the state folder: pki/, etcd/, logs/, pids/, kubeconfig.
	Dir string
	// KubeBin is the folder holding etcd, kube-apiserver,
	// kube-controller-manager and kube-scheduler.
	KubeBin string
	// KwokBin is the kwok executable.
	KwokBin string
	// KwokStages is sigs.k8s.io/kwok's kustomize/stage folder.
	KwokStages string
	Ports      Ports
	// Nodes is how many fake nodes to create.
	Nodes int
	// Timeout bounds `start` as a whole. A cold start takes 10-20 s on an
	// idle machine, and several times that on a busy one.
	Timeout time.Duration
	// StopGrace is how long `stop` waits after SIGTERM before SIGKILL (it
	// goes on as soon as the process has exited).
	StopGrace time.Duration
	// PodRunner, when it selects pods, runs their containers for real
	// (see PodRunnerConfig).
	PodRunner PodRunnerConfig
	// ClusterBin is the cluster command's binary (tools/cmd/cluster), which
	// runs the pod runner and kwok's sandbox; needed with PodRunner only.
	ClusterBin string
}

// ToolsCache is where the toolchain caches binaries: $GLRF_TOOLS_CACHE, or
// glrf-tools under the user cache folder (~/.cache).
func ToolsCache() string {
	if d := os.Getenv("GLRF_TOOLS_CACHE"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		d = filepath.Join(os.TempDir(), "cache")
	}
	return filepath.Join(d, "glrf-tools")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// DefaultKubeBin is $GLRF_KUBE_BIN or the toolchain's cache folder.
func DefaultKubeBin() string {
	return envOr("GLRF_KUBE_BIN", filepath.Join(ToolsCache(), "kube-"+KubeVersion))
}

// DefaultKwokBin is $GLRF_KWOK_BIN or the toolchain's cache folder.
func DefaultKwokBin() string {
	return envOr("GLRF_KWOK_BIN", filepath.Join(ToolsCache(), "kwok-"+KwokVersion, "kwok"))
}

// DefaultKwokStages is $GLRF_KWOK_STAGES or kwok's stage folder in the Go
// module cache (the kwok build downloads the module).
func DefaultKwokStages() string {
	if v := os.Getenv("GLRF_KWOK_STAGES"); v != "" {
		return v
	}
	return filepath.Join(goModCache(), "sigs.k8s.io", "kwok@"+KwokVersion, "kustomize", "stage")
}

func goModCache() string {
	if v := os.Getenv("GOMODCACHE"); v != "" {
		return v
	}
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		if v := strings.TrimSpace(string(out)); v != "" {
			return v
		}
	}
	if v := os.Getenv("GOPATH"); v != "" {
		return filepath.Join(strings.Split(v, string(filepath.ListSeparator))[0], "pkg", "mod")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, "go", "pkg", "mod")
}

// Deadlines, generous because waits end as soon as their condition holds:
// on a busy 2-core machine (a toolchain build next to the tests) every
// component is several times slower than on an idle one.
const (
	// DefaultTimeout bounds `start`.
	DefaultTimeout = 5 * time.Minute
	// DefaultStopGrace is how long `stop` gives a component after SIGTERM.
	DefaultStopGrace = 30 * time.Second
	// healthRequestTimeout bounds one request to a health endpoint.
	healthRequestTimeout = 10 * time.Second
	// runningHealthGrace is how long `start` waits for the components of a
	// cluster that is already running to answer healthy before it decides
	// to restart them.
	runningHealthGrace = time.Minute
	// statusNodesTimeout bounds the node count of `status`.
	statusNodesTimeout = 30 * time.Second
)

// DefaultConfig uses the default ports and binary locations; Dir is left
// for the caller.
func DefaultConfig() Config {
	return Config{
		KubeBin:    DefaultKubeBin(),
		KwokBin:    DefaultKwokBin(),
		KwokStages: DefaultKwokStages(),
		Ports:      DefaultPorts(),
		Nodes:      3,
		Timeout:    DefaultTimeout,
		StopGrace:  DefaultStopGrace,
	}
}

func (c *Config) normalize() error {
	if c.Dir == "" {
		return errors.New("no state folder given")
	}
	dir, err := filepath.Abs(c.Dir)
	if err != nil {
		return err
	}
	c.Dir = filepath.Clean(dir)
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.StopGrace <= 0 {
		c.StopGrace = DefaultStopGrace
	}
	if c.Nodes <= 0 {
		c.Nodes = 3
	}
	if c.Ports == (Ports{}) {
		c.Ports = DefaultPorts()
	}
	if c.Ports.PodRunner == 0 {
		// State recorded before the pod runner existed.
		c.Ports.PodRunner = DefaultPorts().PodRunner
	}
	seen := map[int]string{}
	for _, name := range c.components() {
		for _, port := range c.ports(name) {
			if port <= 0 || port > 65535 {
				return fmt.Errorf("%s: invalid port %d", name, port)
			}
			if other, ok := seen[port]; ok {
				return fmt.Errorf("port %d given to both %s and %s", port, other, name)
			}
			seen[port] = name
		}
	}
	return nil
}

// MissingBinaries lists the binaries and stage folders that are not there.
func (c *Config) MissingBinaries() []string {
	var missing []string
	for _, name := range c.components() {
		path := c.Binary(name)
		if st, err := os.Stat(path); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			missing = append(missing, path)
		}
	}
	for _, d := range KwokStageDirs {
		path := filepath.Join(c.KwokStages, d)
		if filepath.Ext(d) != ".yaml" {
			path = filepath.Join(path, "kustomization.yaml")
		}
		if _, err := os.Stat(path); err != nil {
			missing = append(missing, path)
		}
	}
	return missing
}

// CheckBinaries fails with BuildHint when a binary is missing.
func (c *Config) CheckBinaries() error {
	if missing := c.MissingBinaries(); len(missing) > 0 {
		return fmt.Errorf("missing control-plane binaries or kwok stages:\n  %s\n%s, or point --kube-bin/--kwok-bin/--kwok-stages (env GLRF_KUBE_BIN, GLRF_KWOK_BIN, GLRF_KWOK_STAGES) at them",
			strings.Join(missing, "\n  "), BuildHint)
	}
	return nil
}

// State is what `start` records in DIR/cluster.json so that later commands
// use the same ports and pod runner.
type State struct {
	Ports     Ports           `json:"ports"`
	Nodes     int             `json:"nodes"`
	PodRunner PodRunnerConfig `json:"podRunner"`
}

func statePath(dir string) string { return filepath.Join(dir, "cluster.json") }

// LoadState reads the state a previous `start` recorded in dir.
func LoadState(dir string) (*State, error) {
	data, err := os.ReadFile(statePath(dir))
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", statePath(dir), err)
	}
	return &st, nil
}

func (c *Config) saveState() error {
	data, err := json.MarshalIndent(State{Ports: c.Ports, Nodes: c.Nodes, PodRunner: c.PodRunner}, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(statePath(c.Dir), append(data, '\n'), 0o644)
}

// healthClient trusts the cluster CA and, for the apiserver, presents the
// admin certificate.
func (c *Config) healthClient(name string) (*http.Client, error) {
	pki := c.pki()
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if name != Etcd {
		ca, err := os.ReadFile(pki.CertFile(CertCA))
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, errors.New("no CA certificate in " + pki.CertFile(CertCA))
		}
		tlsCfg.RootCAs = pool
	}
	if name == APIServer {
		pair, err := tls.LoadX509KeyPair(pki.CertFile(CertAdmin), pki.KeyFile(CertAdmin))
		if err != nil {
			return nil, err
		}
		tlsCfg.Certificates = []tls.Certificate{pair}
	}
	return &http.Client{
		Timeout:   healthRequestTimeout,
		Transport: &http.Transport{TLSClientConfig: tlsCfg, DisableKeepAlives: true},
	}, nil
}

// Healthy asks a component's health endpoint.
func (c *Config) Healthy(ctx context.Context, name string) error {
	client, err := c.healthClient(name)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.healthURL(name), nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	text := strings.TrimSpace(string(body))
	ok := resp.StatusCode == http.StatusOK
	if name == Etcd {
		ok = ok && strings.Contains(strings.ReplaceAll(text, " ", ""), `"health":"true"`)
	}
	if !ok {
		return fmt.Errorf("%s: %s: %s", c.healthURL(name), resp.Status, text)
	}
	return nil
}

// ComponentStatus is one line of `status`.
type ComponentStatus struct {
	Name    string
	Pid     int
	Running bool
	Err     error // nil when healthy
}

// Report is the result of Status.
type Report struct {
	Components []ComponentStatus
	ReadyNodes int
	Nodes      int
	NodesErr   error
}

// Healthy is true when every component runs and answers, and every fake
// node is Ready.
func (r Report) Healthy() bool {
	for _, s := range r.Components {
		if !s.Running || s.Err != nil {
			return false
		}
	}
	return r.NodesErr == nil && r.ReadyNodes == r.Nodes
}

// Print writes the report, one line per component.
func (r Report) Print(w io.Writer) {
	for _, s := range r.Components {
		state := "not running"
		if s.Running {
			state = "running (pid " + strconv.Itoa(s.Pid) + ")"
		}
		health := "healthy"
		if s.Err != nil {
			health = "unhealthy: " + s.Err.Error()
		}
		fmt.Fprintf(w, "%-24s %-22s %s\n", s.Name, state, health)
	}
	nodes := fmt.Sprintf("%d/%d Ready", r.ReadyNodes, r.Nodes)
	if r.NodesErr != nil {
		nodes += ": " + r.NodesErr.Error()
	}
	fmt.Fprintf(w, "%-24s %s\n", "nodes", nodes)
}

// Status checks every component and the fake nodes.
func Status(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.normalize(); err != nil {
		return Report{}, err
	}
	return cfg.status(ctx), nil
}

func (c *Config) status(ctx context.Context) Report {
	r := Report{Nodes: c.Nodes}
	for _, name := range c.components() {
		s := ComponentStatus{Name: name, Pid: readPid(c.Dir, name)}
		s.Running = alive(s.Pid, c.Dir)
		if !s.Running {
			s.Err = errors.New("no process")
		} else {
			s.Err = c.Healthy(ctx, name)
		}
		r.Components = append(r.Components, s)
	}
	if r.Components[1].Err != nil {
		r.NodesErr = errors.New("apiserver not healthy")
		return r
	}
	cs, err := c.clientset()
	if err != nil {
		r.NodesErr = err
		return r
	}
	ctx, cancel := context.WithTimeout(ctx, statusNodesTimeout)
	defer cancel()
	r.ReadyNodes, r.NodesErr = ReadyNodes(ctx, cs, c.Nodes)
	return r
}

func (c *Config) clientset() (*kubernetes.Clientset, error) {
	rc, err := c.RESTConfig()
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(rc)
}

// Start brings the cluster up, or reports that it already is, and returns
// once every component is healthy and the fake nodes are Ready.
func Start(ctx context.Context, cfg Config, out io.Writer) error {
	c := &cfg
	if err := c.normalize(); err != nil {
		return err
	}
	if err := c.CheckBinaries(); err != nil {
		return err
	}
	if err := c.PodRunner.check(c.ClusterBin); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()

	if _, err := os.Stat(c.KubeconfigPath()); err == nil && c.allAlive() && c.upToDate(out) {
		// A busy machine makes a healthy component slow to answer: give
		// them time before restarting a cluster that only looks unhealthy.
		if err := c.waitRunningHealthy(ctx, runningHealthGrace); err != nil {
			fmt.Fprintf(out, "the running cluster is not healthy, restarting it: %v\n", err)
		} else {
			if err := c.ensureNodes(ctx); err != nil {
				return err
			}
			fmt.Fprintf(out, "cluster already running and healthy (state in %s)\n", c.Dir)
			c.summary(out)
			return nil
		}
	}
	if c.anythingRunning() {
		fmt.Fprintln(out, "cleaning up processes of an earlier, unhealthy start")
		if err := Stop(cfg, out, false); err != nil {
			return err
		}
	} else {
		c.removePidFiles()
	}
	for _, name := range c.components() {
		for _, port := range c.ports(name) {
			if err := checkPortFree(port); err != nil {
				return fmt.Errorf("%s: 127.0.0.1:%d is not free (is another cluster running? pick other ports with the flags): %w", name, port, err)
			}
		}
	}

	for _, d := range []string{c.Dir, c.etcdDataDir(), c.kwokHome()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	made, err := c.pki().Ensure()
	if err != nil {
		return err
	}
	if newKey, err := c.ensureEncryptionConfig(); err != nil {
		return err
	} else if newKey {
		made = append(made, filepath.Base(c.EncryptionConfigFile()))
	}
	if len(made) > 0 {
		fmt.Fprintf(out, "generated in %s: %s\n", c.pki().Dir, strings.Join(made, ", "))
	}
	if err := c.writeKubeconfigs(); err != nil {
		return err
	}
	if err := c.writeAuditPolicy(); err != nil {
		return err
	}
	if err := c.writePodRunnerFiles(); err != nil {
		return err
	}
	if err := c.saveState(); err != nil {
		return err
	}

	fail := func(name string, err error) error {
		// Leave nothing half up; the logs stay for a look.
		_ = Stop(cfg, io.Discard, false)
		return fmt.Errorf("%s did not become healthy: %w (start timeout %s)\n--- last lines of %s ---\n%s",
			name, err, c.Timeout, logPath(c.Dir, name), tail(logPath(c.Dir, name), 25))
	}
	for _, name := range c.components() {
		if name == Kwok {
			if err := c.dropNodeLeases(ctx); err != nil {
				return fail(name, err)
			}
		}
		pid, err := c.process(name).start()
		if err != nil {
			return fail(name, err)
		}
		if err := c.waitHealthy(ctx, name, func() bool { return running(pid) }); err != nil {
			return fail(name, fmt.Errorf("pid %d: %w", pid, err))
		}
		fmt.Fprintf(out, "%-24s healthy (pid %d)\n", name, pid)
	}
	if err := c.ensureNodes(ctx); err != nil {
		return fail(Kwok, err)
	}
	c.summary(out)
	return nil
}

// upToDate reports whether every running component has the command line
// this configuration renders (it does not after an upgrade of this tool).
func (c *Config) upToDate(out io.Writer) bool {
	for _, name := range allComponentNames() {
		want := c.Command(name)
		if !slices.Contains(c.components(), name) {
			want = nil // not to run: none should
		}
		if !slices.Equal(cmdline(readPid(c.Dir, name)), want) {
			fmt.Fprintf(out, "%s runs with other flags or binary than this configuration: restarting the cluster\n", name)
			return false
		}
	}
	return true
}

// allAlive reports whether every component's recorded process runs.
func (c *Config) allAlive() bool {
	for _, name := range c.components() {
		if !alive(readPid(c.Dir, name), c.Dir) {
			return false
		}
	}
	return true
}

// waitRunningHealthy waits up to grace for every component of a running
// cluster to answer healthy.
func (c *Config) waitRunningHealthy(ctx context.Context, grace time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	for _, name := range c.components() {
		pid := readPid(c.Dir, name)
		if err := c.waitHealthy(ctx, name, func() bool { return alive(pid, c.Dir) }); err != nil {
			return fmt.Errorf("%s (pid %d): %w", name, pid, err)
		}
	}
	return nil
}

// dropNodeLeases deletes the fake nodes' Leases before kwok starts. They
// are left by kwok's previous run, whose identity a new kwok does not have:
// it would wait for them to expire (--node-lease-duration-seconds) before it
// plays any pod on those nodes. Without them it makes new ones at once.
func (c *Config) dropNodeLeases(ctx context.Context) error {
	cs, err := c.clientset()
	if err != nil {
		return err
	}
	leases := cs.CoordinationV1().Leases(NodeLeaseNamespace)
	for i := range c.Nodes {
		err := retry.OnError(nodeWriteBackoff, func(err error) bool { return ctx.Err() == nil && retriable(err) }, func() error {
			err := leases.Delete(ctx, NodeName(i), metav1.DeleteOptions{})
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("delete the Lease of node %s left by kwok's previous run: %w", NodeName(i), err)
		}
	}
	return nil
}

// ensureNodes creates the fake nodes and waits for them to be Ready and
// managed by the running kwok, and for the default ServiceAccount (pods are
// refused until the controller-manager made it).
func (c *Config) ensureNodes(ctx context.Context) error {
	cs, err := c.clientset()
	if err != nil {
		return err
	}
	if err := EnsureNodes(ctx, cs, c.Nodes); err != nil {
		return err
	}
	if err := WaitNodesReady(ctx, cs, c.Nodes); err != nil {
		return fmt.Errorf("fake nodes not Ready: %w", err)
	}
	// The pid file is written as kwok starts.
	st, err := os.Stat(pidPath(c.Dir, Kwok))
	if err != nil {
		return err
	}
	if err := WaitNodesManaged(ctx, cs, c.Nodes, st.ModTime()); err != nil {
		return fmt.Errorf("kwok has not taken over the fake nodes (a restarted kwok waits for its previous run's node Leases to expire): %w", err)
	}
	// Any error may pass (a busy apiserver times out now and then): poll
	// until the deadline, then report the last one.
	var last error
	for {
		_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			return nil
		}
		if last == nil || ctx.Err() == nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if apierrors.IsNotFound(last) {
				last = errors.New("the controller-manager has not created it yet")
			}
			return fmt.Errorf("no default ServiceAccount in namespace default: %w", last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (c *Config) summary(out io.Writer) {
	fmt.Fprintf(out, "kubeconfig: %s\n", c.KubeconfigPath())
	fmt.Fprintf(out, "cluster up: apiserver %s, etcd 127.0.0.1:%d, %d kwok nodes; export KUBECONFIG=%s\n",
		c.APIServerURL(), c.Ports.EtcdClient, c.Nodes, c.KubeconfigPath())
}

// waitHealthy polls the component until it answers, and fails early when
// its process is no longer up.
func (c *Config) waitHealthy(ctx context.Context, name string, up func() bool) error {
	var last error
	for {
		if !up() {
			return errors.New("process exited")
		}
		err := c.Healthy(ctx, name)
		if err == nil {
			return nil
		}
		if last == nil || ctx.Err() == nil {
			// Once the deadline passed, every request fails with it: the
			// answer before says more.
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no healthy answer before the deadline; last: %w", last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (c *Config) anythingRunning() bool {
	for _, name := range allComponentNames() {
		if alive(readPid(c.Dir, name), c.Dir) {
			return true
		}
	}
	return len(strayProcesses(c.Dir)) > 0
}

func (c *Config) removePidFiles() {
	for _, name := range allComponentNames() {
		_ = os.Remove(pidPath(c.Dir, name))
	}
}

func checkPortFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}

// Stop ends every process of the cluster, in reverse start order, SIGTERM
// first and SIGKILL after StopGrace, then checks that none is left. Data
// stays for the next start unless purge, which removes the state folder.
func Stop(cfg Config, out io.Writer, purge bool) error {
	c := &cfg
	if err := c.normalize(); err != nil {
		return err
	}
	var errs []error
	names := allComponentNames()
	slices.Reverse(names)
	for _, name := range names {
		pid := readPid(c.Dir, name)
		if alive(pid, c.Dir) {
			fmt.Fprintf(out, "stopping %s (pid %d)\n", name, pid)
			if err := terminate(pid, c.Dir, c.StopGrace); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				continue
			}
		}
		_ = os.Remove(pidPath(c.Dir, name))
	}
	for _, pid := range strayProcesses(c.Dir) {
		fmt.Fprintf(out, "stopping stray process %d: %s\n", pid, strings.Join(cmdline(pid), " "))
		if err := terminate(pid, c.Dir, c.StopGrace); err != nil {
			errs = append(errs, err)
		}
	}
	if left := strayProcesses(c.Dir); len(left) > 0 {
		errs = append(errs, fmt.Errorf("processes still running for %s: %v", c.Dir, left))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if purge {
		if err := os.RemoveAll(c.Dir); err != nil {
			return err
		}
		fmt.Fprintf(out, "removed %s\n", c.Dir)
	}
	fmt.Fprintln(out, "cluster stopped")
	return nil
}

package podrunner

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
)

// Config is what the pod runner needs to know; `cluster start` renders it
// as command-line flags (Args) and the runner reads them back (ParseArgs).
type Config struct {
	// Kubeconfig is the runner's own access to the API server.
	Kubeconfig string
	// StateDir holds the pods' volumes and working files. The runner mounts
	// a tmpfs over it in its own mount namespace: nothing of it reaches the
	// disk, and it vanishes with the runner.
	StateDir string
	// LogDir holds the containers' logs, on disk, one folder per pod
	// (<namespace>_<name>_<uid>/<container>/<restart>.log).
	LogDir string
	// MaskDirs are host folders hidden from containers (an empty read-only
	// tmpfs over them): the cluster's state folder, with its keys.
	MaskDirs []string
	// Selector is the label selector of the pods to run.
	Selector string
	// Nodes are the nodes whose pods the runner may run (kwok's fake nodes).
	Nodes []string
	// Images maps an image repository (no tag or digest) to a host folder
	// holding the image's binaries, mounted read-only at ImageBinDir in the
	// container and put first on its PATH.
	Images map[string]string
	// Forwards are host TCP addresses (host:port) that each pod reaches at
	// the same address inside its network namespace (e.g. the local GitLab
	// at 127.0.0.1:18080).
	Forwards []string
	// APIServer is the API server's host address (127.0.0.1:port), served
	// in each pod at ServiceIP:443, the kubernetes Service.
	APIServer string
	// ServiceIP is the kubernetes Service's ClusterIP.
	ServiceIP string
	// PodCIDR is the range the runner takes pod IPs from (kwok uses another).
	PodCIDR string
	// NodeIP is the fake nodes' address (the pods' hostIP).
	NodeIP string
	// Listen is the fake nodes' kubelet endpoint (host:port), served over
	// TLS with TLSCert and TLSKey.
	Listen  string
	TLSCert string
	TLSKey  string
	// Kwok is kwok's own server (host:port), where every kubelet request
	// for a pod the runner does not run goes; CAFile verifies it.
	Kwok   string
	CAFile string
	// JobExec, when enabled, wraps exec into the job containers of the
	// pods kwok plays (see JobExecCommand).
	JobExec JobExecConfig
}

// ImageBinDir is where a container finds its image's binaries.
const ImageBinDir = "/usr/local/lib/glrf-image/bin"

// imageDefaultPath is the PATH of a container whose spec sets none: the
// image's binaries first, then the usual folders (what an image's ENV PATH
// usually holds).
const imageDefaultPath = ImageBinDir + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Args renders the configuration as flags for ParseArgs.
func (c Config) Args() []string {
	args := []string{
		"--kubeconfig=" + c.Kubeconfig,
		"--state-dir=" + c.StateDir,
		"--log-dir=" + c.LogDir,
		"--selector=" + c.Selector,
		"--apiserver=" + c.APIServer,
		"--service-ip=" + c.ServiceIP,
		"--pod-cidr=" + c.PodCIDR,
		"--node-ip=" + c.NodeIP,
		"--listen=" + c.Listen,
		"--tls-cert=" + c.TLSCert,
		"--tls-key=" + c.TLSKey,
		"--kwok=" + c.Kwok,
		"--ca=" + c.CAFile,
	}
	for _, d := range c.MaskDirs {
		args = append(args, "--mask="+d)
	}
	for _, n := range c.Nodes {
		args = append(args, "--node="+n)
	}
	for _, repo := range slices.Sorted(maps.Keys(c.Images)) {
		args = append(args, "--image="+repo+"="+c.Images[repo])
	}
	for _, f := range c.Forwards {
		args = append(args, "--forward="+f)
	}
	if c.JobExec.Enabled() {
		for _, name := range c.JobExec.Containers {
			args = append(args, "--job-container="+name)
		}
		args = append(args, "--job-exec-binary="+c.JobExec.Binary,
			"--job-uid="+strconv.Itoa(c.JobExec.UID), "--job-gid="+strconv.Itoa(c.JobExec.GID))
	}
	return args
}

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// ParseArgs reads the flags Args renders and checks them.
func ParseArgs(args []string) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("pod-runner", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.Kubeconfig, "kubeconfig", "", "")
	fs.StringVar(&c.StateDir, "state-dir", "", "")
	fs.StringVar(&c.LogDir, "log-dir", "", "")
	fs.StringVar(&c.Selector, "selector", "", "")
	fs.StringVar(&c.APIServer, "apiserver", "", "")
	fs.StringVar(&c.ServiceIP, "service-ip", "", "")
	fs.StringVar(&c.PodCIDR, "pod-cidr", "", "")
	fs.StringVar(&c.NodeIP, "node-ip", "", "")
	fs.StringVar(&c.Listen, "listen", "", "")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "")
	fs.StringVar(&c.TLSKey, "tls-key", "", "")
	fs.StringVar(&c.Kwok, "kwok", "", "")
	fs.StringVar(&c.CAFile, "ca", "", "")
	fs.StringVar(&c.JobExec.Binary, "job-exec-binary", "", "")
	fs.IntVar(&c.JobExec.UID, "job-uid", 0, "")
	fs.IntVar(&c.JobExec.GID, "job-gid", 0, "")
	var masks, nodes, images, forwards, jobContainers listFlag
	fs.Var(&jobContainers, "job-container", "")
	fs.Var(&masks, "mask", "")
	fs.Var(&nodes, "node", "")
	fs.Var(&images, "image", "")
	fs.Var(&forwards, "forward", "")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	c.MaskDirs, c.Nodes, c.Forwards, c.JobExec.Containers = masks, nodes, forwards, jobContainers
	var err error
	if c.Images, err = ParseImages(images); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Validate reports every setting that cannot work, each with its fix.
func (c Config) Validate() error {
	var errs []error
	need := func(name, v string) {
		if v == "" {
			errs = append(errs, fmt.Errorf("pod runner: %s is not set", name))
		}
	}
	need("kubeconfig", c.Kubeconfig)
	need("state-dir", c.StateDir)
	need("log-dir", c.LogDir)
	need("listen", c.Listen)
	need("kwok", c.Kwok)
	need("tls-cert", c.TLSCert)
	need("tls-key", c.TLSKey)
	need("ca", c.CAFile)
	if err := ValidateSelector(c.Selector); err != nil {
		errs = append(errs, err)
	}
	if len(c.Nodes) == 0 {
		errs = append(errs, errors.New("pod runner: no node given (--node)"))
	}
	for name, addr := range map[string]string{"apiserver": c.APIServer, "listen": c.Listen, "kwok": c.Kwok} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("pod runner: %s %q is not host:port: %w", name, addr, err))
		}
	}
	if ip := net.ParseIP(c.ServiceIP); ip == nil || ip.To4() == nil {
		errs = append(errs, fmt.Errorf("pod runner: service-ip %q is not an IPv4 address", c.ServiceIP))
	}
	if ip := net.ParseIP(c.NodeIP); ip == nil {
		errs = append(errs, fmt.Errorf("pod runner: node-ip %q is not an IP address", c.NodeIP))
	}
	if _, n, err := net.ParseCIDR(c.PodCIDR); err != nil || n.IP.To4() == nil {
		errs = append(errs, fmt.Errorf("pod runner: pod-cidr %q is not an IPv4 CIDR", c.PodCIDR))
	}
	if err := ValidateForwards(c.Forwards); err != nil {
		errs = append(errs, err)
	}
	if err := ValidateImages(c.Images); err != nil {
		errs = append(errs, err)
	}
	if j := c.JobExec; j.Enabled() && (!filepath.IsAbs(j.Binary) || j.UID <= 0 || j.GID <= 0) {
		errs = append(errs, fmt.Errorf("pod runner: job exec needs the cluster binary's absolute path in kwok's sandbox (--job-exec-binary, got %q) and a job user and group that are not root (--job-uid, --job-gid, got %d:%d)", j.Binary, j.UID, j.GID))
	}
	return errors.Join(errs...)
}

// ValidateSelector checks a pod selector: a label selector that selects
// something (an empty one would take every pod from kwok).
func ValidateSelector(selector string) error {
	if strings.TrimSpace(selector) == "" {
		return errors.New("pod runner: the pod selector is empty; name the pods to run, e.g. app.kubernetes.io/component=runner-manager")
	}
	if _, err := labels.Parse(selector); err != nil {
		return fmt.Errorf("pod runner: pod selector %q: %w", selector, err)
	}
	return nil
}

// ValidateForwards checks forwarded addresses: IPv4 host:port with a
// literal address (a pod has no DNS), not the kubernetes Service's port 443
// on its address.
func ValidateForwards(forwards []string) error {
	var errs []error
	seen := map[string]bool{}
	for _, f := range forwards {
		host, port, err := net.SplitHostPort(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("pod forward %q: want IP:port (e.g. 127.0.0.1:18080): %w", f, err))
			continue
		}
		if ip := net.ParseIP(host); ip == nil || ip.To4() == nil {
			errs = append(errs, fmt.Errorf("pod forward %q: %q is not an IPv4 address (pods have no DNS)", f, host))
		}
		if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
			errs = append(errs, fmt.Errorf("pod forward %q: invalid port %q", f, port))
		}
		if seen[f] {
			errs = append(errs, fmt.Errorf("pod forward %q given twice", f))
		}
		seen[f] = true
	}
	return errors.Join(errs...)
}

// ParseImages reads repository=folder pairs.
func ParseImages(pairs []string) (map[string]string, error) {
	images := map[string]string{}
	var errs []error
	for _, p := range pairs {
		repo, dir, ok := strings.Cut(p, "=")
		if !ok || repo == "" || dir == "" {
			errs = append(errs, fmt.Errorf("image mapping %q: want REPOSITORY=FOLDER, e.g. registry.gitlab.com/gitlab-org/gitlab-runner=$HOME/bin", p))
			continue
		}
		if _, dup := images[repo]; dup {
			errs = append(errs, fmt.Errorf("image mapping: %s mapped twice", repo))
		}
		images[repo] = dir
	}
	return images, errors.Join(errs...)
}

// ValidateImages checks that each mapped folder exists, is absolute and
// that the repository has no tag or digest.
func ValidateImages(images map[string]string) error {
	var errs []error
	for _, repo := range slices.Sorted(maps.Keys(images)) {
		dir := images[repo]
		if Repository(repo) != repo {
			errs = append(errs, fmt.Errorf("image mapping %s: give the repository without tag or digest (%s)", repo, Repository(repo)))
		}
		if !filepath.IsAbs(dir) {
			errs = append(errs, fmt.Errorf("image mapping %s: folder %q is not an absolute path", repo, dir))
			continue
		}
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			errs = append(errs, fmt.Errorf("image mapping %s: %q is not a folder (build the binaries first, or fix the path)", repo, dir))
		}
	}
	return errors.Join(errs...)
}

// Repository is an image reference without its tag and digest:
// registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v19.3.0 becomes
// registry.gitlab.com/gitlab-org/gitlab-runner.
func Repository(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	// A colon after the last slash starts the tag (one before it is a
	// registry's port).
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image = image[:i]
	}
	return image
}

package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/glrf/gitlab-runner-fleet/tools/cluster/podrunner"
)

// PodRunnerConfig turns on the pod runner (package podrunner): the pods
// Selector matches, once bound to a fake node, get their containers run for
// real as host processes instead of being played by kwok, and kwok's exec
// runs job pods' commands as local processes in its sandbox.
type PodRunnerConfig struct {
	// Selector is the label selector of the pods to run; empty turns the
	// pod runner off (every pod is kwok's, as without it).
	Selector string `json:"selector,omitempty"`
	// Images maps image repositories to host folders of binaries (see
	// podrunner.Config.Images).
	Images map[string]string `json:"images,omitempty"`
	// Forwards are host addresses each pod reaches at the same address
	// inside its network namespace (the local GitLab).
	Forwards []string `json:"forwards,omitempty"`
}

// Enabled reports whether the pod runner runs.
func (p PodRunnerConfig) Enabled() bool { return p.Selector != "" }

// Defaults of the local setup's pod runner.
const (
	// RunnerManagerSelector selects the fleet's manager pods.
	RunnerManagerSelector = "app.kubernetes.io/component=runner-manager"
	// RunnerImageRepository is the manager image's repository, mapped to the
	// folder holding a gitlab-runner binary.
	RunnerImageRepository = "registry.gitlab.com/gitlab-org/gitlab-runner"
)

// The pod IP ranges: kwok's pods and the pod runner's share PodCIDR, one
// half each, so their IPs never collide.
const (
	KwokPodCIDR   = "10.244.0.0/17"
	RunnerPodCIDR = "10.244.128.0/17"
)

// JobUID and JobGID are who job pods' exec'd processes run as in kwok's
// sandbox (nobody): never root on this machine.
const (
	JobUID = 65534
	JobGID = 65534
)

// JobContainers are the job pod containers the runner's executor execs
// into; exec into any other container of a kwok pod is refused (by kwok).
var JobContainers = []string{"build", "helper"}

// Paths inside kwok's sandbox.
const (
	sandboxJobBin   = "/usr/local/lib/glrf-job/bin"
	sandboxJobExec  = "/usr/local/lib/glrf-job/cluster"
	sandboxImageBin = podrunner.ImageBinDir
	sandboxPath     = sandboxJobBin + ":" + sandboxImageBin + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// check reports what keeps the pod runner from running, each with its fix.
func (p PodRunnerConfig) check(clusterBin string) error {
	if !p.Enabled() {
		return nil
	}
	var errs []error
	if err := podrunner.ValidateSelector(p.Selector); err != nil {
		errs = append(errs, err)
	}
	if err := podrunner.ValidateImages(p.Images); err != nil {
		errs = append(errs, err)
	}
	if err := podrunner.ValidateForwards(p.Forwards); err != nil {
		errs = append(errs, err)
	}
	if st, err := os.Stat(clusterBin); clusterBin == "" || err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		errs = append(errs, fmt.Errorf("pod runner: the cluster binary %q is not an executable (build tools/cmd/cluster; it runs the pod runner and kwok's sandbox)", clusterBin))
	}
	if os.Geteuid() != 0 {
		errs = append(errs, errors.New("pod runner: needs root (CAP_SYS_ADMIN) for its namespaces and mounts; run `cluster start` as root, or without --run-pods"))
	}
	return errors.Join(errs...)
}

// Files of the pod runner under the state folder.
func (c *Config) kwokJobExec() string        { return filepath.Join(c.Dir, "kwok-job-exec.yaml") }
func (c *Config) jobBinDir() string          { return filepath.Join(c.Dir, "job-bin") }
func (c *Config) kwokSandboxScratch() string { return filepath.Join(c.Dir, "kwok-sandbox") }

// podRunnerConfig is the pod runner's configuration.
func (c *Config) podRunnerConfig() podrunner.Config {
	nodes := make([]string, c.Nodes)
	for i := range nodes {
		nodes[i] = NodeName(i)
	}
	pki := c.pki()
	return podrunner.Config{
		Kubeconfig: c.componentKubeconfig(PodRunner),
		StateDir:   c.runDir(PodRunner),
		LogDir:     filepath.Join(c.Dir, "logs", "pods"),
		MaskDirs:   []string{c.Dir},
		Selector:   c.PodRunner.Selector,
		Nodes:      nodes,
		Images:     c.PodRunner.Images,
		Forwards:   c.PodRunner.Forwards,
		APIServer:  fmt.Sprintf("127.0.0.1:%d", c.Ports.APIServer),
		ServiceIP:  ServiceClusterIP,
		PodCIDR:    RunnerPodCIDR,
		NodeIP:     "127.0.0.1",
		Listen:     fmt.Sprintf("127.0.0.1:%d", c.Ports.PodRunner),
		TLSCert:    pki.CertFile(CertKwokServing),
		TLSKey:     pki.KeyFile(CertKwokServing),
		Kwok:       fmt.Sprintf("127.0.0.1:%d", c.Ports.Kwok),
		CAFile:     pki.CertFile(CertCA),
		JobExec:    podrunner.JobExecConfig{Containers: JobContainers, Binary: sandboxJobExec, UID: JobUID, GID: JobGID},
	}
}

// kwokSandbox is kwok's sandbox: the host paths kwok reads, the job
// binaries, the runner image's folder (its gitlab-runner serves as the
// helper image's gitlab-runner-helper), the cluster binary (job-exec), a
// network namespace for kwok that reaches the API server only, and one for
// job processes that reaches the pods' forwarded addresses only.
func (c *Config) kwokSandbox() podrunner.SandboxConfig {
	binds := []string{c.Dir, filepath.Dir(c.KwokBin), c.KwokStages, c.jobBinDir() + ":" + sandboxJobBin, c.ClusterBin + ":" + sandboxJobExec}
	if dir, ok := c.PodRunner.Images[RunnerImageRepository]; ok {
		binds = append(binds, dir+":"+sandboxImageBin)
	}
	return podrunner.SandboxConfig{
		Scratch: c.kwokSandboxScratch(),
		Binds:   binds,
		Env:     append([]string{"PATH=" + sandboxPath}, c.Env(Kwok)...),
		// kwok talks to the API server; jobs, in a network namespace of
		// their own, to the forwarded addresses only.
		Forwards:    []string{fmt.Sprintf("127.0.0.1:%d", c.Ports.APIServer)},
		JobForwards: c.PodRunner.Forwards,
		Expose:      []string{fmt.Sprintf("127.0.0.1:%d", c.Ports.Kwok)},
		Argv:        append([]string{c.KwokBin}, c.Args(Kwok)...),
	}
}

// jobExecConfig is kwok's ClusterExec: exec into a job pod's build or helper
// container runs the command in kwok's sandbox, from /. The pod runner has
// made that command the cluster binary's job-exec (podrunner.JobExecCommand),
// which runs as root just long enough to mount the pod's own folders, then
// runs the job's command as JobUID. And its ClusterLogs: their logs are
// empty (nothing runs as their own command), which is what the runner's
// FF_WAIT_FOR_POD_TO_BE_REACHABLE reads.
func jobExecConfig() string {
	return fmt.Sprintf(`# Written by the cluster command: exec into the build and helper containers
# of pods kwok plays (the runner's job pods) runs the command as a local
# process in kwok's sandbox, through the cluster binary's job-exec (the pod
# runner puts it first), which mounts the pod's folders and runs the rest
# as nobody; their logs are empty.
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: glrf-job-containers
spec:
  logs:
  - containers: [%[1]s]
    logsFile: /dev/null
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterExec
metadata:
  name: glrf-job-containers
spec:
  execs:
  - containers: [%[1]s]
    local:
      workDir: /
      envs:
      - name: HOME
        value: /tmp
      - name: PATH
        value: %[2]s
`, strings.Join(JobContainers, ", "), sandboxPath)
}

// jobBinaries are the job containers' stand-ins for what the helper image
// holds.
func (c *Config) jobBinaries() map[string]string {
	bins := map[string]string{
		// The helper image's wrapper for the helper's scripts: files the
		// helper creates stay writable for the build container's user.
		"gitlab-runner-build": "#!/bin/sh\numask 0000\nexec /bin/bash \"$@\"\n",
	}
	if dir, ok := c.PodRunner.Images[RunnerImageRepository]; ok {
		// A helper binary built beside the runner's is on PATH as it is;
		// otherwise the runner binary, which carries the helper's commands
		// (artifacts, cache), stands for it.
		if _, err := os.Stat(filepath.Join(dir, "gitlab-runner-helper")); err != nil {
			bins["gitlab-runner-helper"] = "#!/bin/sh\nexec " + sandboxImageBin + "/gitlab-runner \"$@\"\n"
		}
	}
	return bins
}

// writePodRunnerFiles writes kwok's exec configuration and the job
// binaries, and makes the sandbox's scratch folder.
func (c *Config) writePodRunnerFiles() error {
	if !c.PodRunner.Enabled() {
		return nil
	}
	if err := writeFile(c.kwokJobExec(), []byte(jobExecConfig()), 0o644); err != nil {
		return err
	}
	bins := c.jobBinaries()
	if err := os.MkdirAll(c.jobBinDir(), 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(c.jobBinDir())
	if err != nil {
		return err
	}
	for _, e := range entries {
		if _, keep := bins[e.Name()]; !keep {
			_ = os.Remove(filepath.Join(c.jobBinDir(), e.Name()))
		}
	}
	for name, script := range bins {
		if err := writeFile(filepath.Join(c.jobBinDir(), name), []byte(script), 0o755); err != nil {
			return err
		}
	}
	for _, d := range []string{c.kwokSandboxScratch(), c.runDir(PodRunner)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	return nil
}

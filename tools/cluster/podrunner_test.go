package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/glrf/gitlab-runner-fleet/tools/cluster/podrunner"
)

func podRunnerTestConfig(t *testing.T) *Config {
	t.Helper()
	cfg := testConfig(t)
	cfg.ClusterBin = "/opt/glrf/cluster"
	runnerDir := t.TempDir()
	cfg.PodRunner = PodRunnerConfig{
		Selector: RunnerManagerSelector,
		Images:   map[string]string{RunnerImageRepository: runnerDir},
		Forwards: []string{"127.0.0.1:18080"},
	}
	require.NoError(t, cfg.normalize())
	return cfg
}

func TestPodRunnerCommandLines(t *testing.T) {
	cfg := podRunnerTestConfig(t)
	assert.Equal(t, allComponentNames(), cfg.components(), "the pod runner runs last")

	runner := cfg.Command(PodRunner)
	assert.Equal(t, []string{"/opt/glrf/cluster", podrunner.RunCommand}, runner[:2])
	parsed, err := podrunner.ParseArgs(runner[2:])
	require.NoError(t, err, "the pod runner reads back what start renders")
	assert.Equal(t, RunnerManagerSelector, parsed.Selector)
	assert.Equal(t, []string{"kwok-node-0", "kwok-node-1", "kwok-node-2"}, parsed.Nodes)
	assert.Equal(t, []string{cfg.Dir}, parsed.MaskDirs, "containers never see the state folder and its keys")
	assert.Equal(t, RunnerPodCIDR, parsed.PodCIDR)
	assert.Equal(t, "10.0.0.1", parsed.ServiceIP)
	assert.Equal(t, podrunner.JobExecConfig{Containers: JobContainers, Binary: sandboxJobExec, UID: JobUID, GID: JobGID}, parsed.JobExec,
		"exec into job containers is wrapped in job-exec, which runs the command as nobody")
	assert.True(t, ownedBy(runner, cfg.Dir))

	kwok := cfg.Command(Kwok)
	assert.Equal(t, []string{"/opt/glrf/cluster", podrunner.SandboxCommand}, kwok[:2], "kwok runs in its sandbox")
	sb, err := podrunner.ParseSandboxArgs(kwok[2:])
	require.NoError(t, err)
	assert.Equal(t, append([]string{cfg.KwokBin}, cfg.Args(Kwok)...), sb.Argv)
	assert.Contains(t, sb.Binds, cfg.Dir)
	assert.Contains(t, sb.Binds, cfg.PodRunner.Images[RunnerImageRepository]+":"+podrunner.ImageBinDir)
	assert.Contains(t, sb.Binds, cfg.ClusterBin+":"+sandboxJobExec, "job-exec is the cluster binary")
	assert.Equal(t, []string{fmt.Sprintf("127.0.0.1:%d", cfg.Ports.APIServer)}, sb.Forwards, "kwok reaches the API server")
	assert.Equal(t, cfg.PodRunner.Forwards, sb.JobForwards, "jobs reach the local GitLab only")
	assert.Contains(t, sb.Env, "HOME="+filepath.Join(cfg.Dir, "kwok"))
	assert.True(t, slices.ContainsFunc(sb.Env, func(e string) bool { return strings.HasPrefix(e, "PATH=/usr/local/lib/glrf-job/bin:") }))
	assert.True(t, ownedBy(kwok, cfg.Dir))
	assert.Contains(t, sb.Argv, "--disregard-status-with-label-selector="+RunnerManagerSelector, "kwok's stages leave the run pods alone")
	assert.Contains(t, sb.Argv, "--config="+cfg.kwokJobExec())

	assert.Equal(t, syscallNewPIDAndMount, cfg.process(PodRunner).cloneflags)
	assert.Equal(t, syscallNewPIDAndMount, cfg.process(Kwok).cloneflags)
	assert.Zero(t, cfg.process(APIServer).cloneflags)
}

func TestPodRunnerFiles(t *testing.T) {
	cfg := podRunnerTestConfig(t)
	require.NoError(t, cfg.writePodRunnerFiles())
	data, err := os.ReadFile(cfg.kwokJobExec())
	require.NoError(t, err)
	var exec struct {
		Kind string
		Spec struct {
			Selector any
			Execs    []struct {
				Containers []string
				Local      struct {
					WorkDir string `json:"workDir"`
				}
			}
		}
	}
	docs := strings.Split(string(data), "\n---\n")
	require.Len(t, docs, 2)
	assert.Contains(t, docs[0], "kind: ClusterLogs")
	require.NoError(t, yaml.Unmarshal([]byte(docs[1]), &exec), docs[1])
	assert.Equal(t, "ClusterExec", exec.Kind)
	require.Len(t, exec.Spec.Execs, 1)
	assert.Equal(t, JobContainers, exec.Spec.Execs[0].Containers)
	assert.Equal(t, "/", exec.Spec.Execs[0].Local.WorkDir)
	for _, name := range []string{"gitlab-runner-build", "gitlab-runner-helper"} {
		st, err := os.Stat(filepath.Join(cfg.jobBinDir(), name))
		require.NoError(t, err, name)
		assert.Equal(t, os.FileMode(0o755), st.Mode().Perm(), name)
	}

	// A real helper binary beside the runner's is used as it is.
	runnerDir := cfg.PodRunner.Images[RunnerImageRepository]
	require.NoError(t, os.WriteFile(filepath.Join(runnerDir, "gitlab-runner-helper"), nil, 0o755))
	require.NoError(t, cfg.writePodRunnerFiles())
	assert.NoFileExists(t, filepath.Join(cfg.jobBinDir(), "gitlab-runner-helper"))
	assert.FileExists(t, filepath.Join(cfg.jobBinDir(), "gitlab-runner-build"))
}

func TestPodRunnerCheck(t *testing.T) {
	cfg := podRunnerTestConfig(t)
	cfg.PodRunner.Forwards = []string{"gitlab.local:80"}
	cfg.PodRunner.Images = map[string]string{"r:1": "/nope"}
	err := cfg.PodRunner.check("/nope/cluster")
	require.Error(t, err)
	for _, want := range []string{"not an IPv4 address", "without tag or digest", `"/nope" is not a folder`, "build tools/cmd/cluster"} {
		assert.ErrorContains(t, err, want)
	}
	assert.NoError(t, PodRunnerConfig{}.check(""), "off: nothing to check")
}

const syscallNewPIDAndMount = uintptr(0x20000000 | 0x00020000) // CLONE_NEWPID | CLONE_NEWNS

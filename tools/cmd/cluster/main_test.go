package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/tools/cluster"
)

func portList(p cluster.Ports) []int {
	return []int{p.EtcdClient, p.EtcdPeer, p.APIServer, p.ControllerManager, p.Scheduler, p.Kwok}
}

func mustParse(t *testing.T, args ...string) invocation {
	t.Helper()
	var stderr bytes.Buffer
	inv, code := parse(args, &stderr)
	require.Equal(t, -1, code, "parse %v: %s", args, stderr.String())
	return inv
}

func TestParseFreePorts(t *testing.T) {
	dir := t.TempDir()

	plain := mustParse(t, "start", "--dir", dir)
	assert.Equal(t, cluster.DefaultPorts(), plain.cfg.Ports, "without --free-ports: the default ports")

	free := mustParse(t, "start", "--dir", dir, "--free-ports")
	seen := map[int]bool{}
	for i, port := range portList(free.cfg.Ports) {
		assert.NotEqual(t, portList(cluster.DefaultPorts())[i], port, "a picked port, not the default")
		assert.False(t, seen[port], "port %d picked twice", port)
		seen[port] = true
	}

	mixed := mustParse(t, "--free-ports", "start", "--dir", dir, "--apiserver-port", "23456")
	assert.Equal(t, 23456, mixed.cfg.Ports.APIServer, "a port given on the command line wins")
	assert.NotEqual(t, cluster.DefaultPorts().EtcdClient, mixed.cfg.Ports.EtcdClient)

	// Once a start recorded its ports, every command uses them, --free-ports or not.
	saved := cluster.State{Ports: free.cfg.Ports, Nodes: 5}
	data, err := json.Marshal(saved)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cluster.json"), data, 0o644))
	for _, args := range [][]string{
		{"start", "--dir", dir, "--free-ports"},
		{"start", "--dir", dir},
		{"status", "--dir", dir},
		{"stop", "--dir", dir},
	} {
		inv := mustParse(t, args...)
		assert.Equal(t, saved.Ports, inv.cfg.Ports, "%v", args)
		assert.Equal(t, 5, inv.cfg.Nodes, "%v", args)
	}
}

func TestParseRefusesBadCommandLines(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"restart"},
		{"start", "extra"},
		{"start", "--no-such-flag"},
	} {
		var stderr bytes.Buffer
		_, code := parse(args, &stderr)
		assert.Equal(t, 2, code, "%v", args)
		assert.NotEmpty(t, stderr.String(), "%v says why", args)
	}
}

func TestParsePodRunner(t *testing.T) {
	dir := t.TempDir()
	runnerDir := t.TempDir()
	t.Setenv("GLRF_RUNNER_BIN", filepath.Join(runnerDir, "gitlab-runner"))
	require.NoError(t, os.WriteFile(filepath.Join(runnerDir, "gitlab-runner"), []byte("#!/bin/sh\n"), 0o755))

	off := mustParse(t, "start", "--dir", dir)
	assert.False(t, off.cfg.PodRunner.Enabled(), "off unless asked for")

	on := mustParse(t, "start", "--dir", dir, "--run-pods", cluster.RunnerManagerSelector,
		"--image", "registry.example/other=/opt/other", "--pod-forward", "127.0.0.1:18080")
	assert.Equal(t, cluster.RunnerManagerSelector, on.cfg.PodRunner.Selector)
	assert.Equal(t, map[string]string{
		"registry.example/other":      "/opt/other",
		cluster.RunnerImageRepository: runnerDir,
	}, on.cfg.PodRunner.Images, "the runner image defaults to $GLRF_RUNNER_BIN's folder")
	assert.Equal(t, []string{"127.0.0.1:18080"}, on.cfg.PodRunner.Forwards)
	self, err := os.Executable()
	require.NoError(t, err)
	assert.Equal(t, self, on.cfg.ClusterBin, "the pod runner is this binary's subcommand")

	// A later command without the flags keeps the last start's pod runner.
	data, err := json.Marshal(cluster.State{Ports: cluster.DefaultPorts(), Nodes: 3, PodRunner: on.cfg.PodRunner})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cluster.json"), data, 0o644))
	again := mustParse(t, "start", "--dir", dir)
	assert.Equal(t, on.cfg.PodRunner, again.cfg.PodRunner)
	turnedOff := mustParse(t, "start", "--dir", dir, "--run-pods", "")
	assert.False(t, turnedOff.cfg.PodRunner.Enabled(), "--run-pods '' turns it off")

	var stderr bytes.Buffer
	_, code := parse([]string{"start", "--dir", t.TempDir(), "--run-pods", "a=b", "--image", "no-folder"}, &stderr)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "want REPOSITORY=FOLDER")
}

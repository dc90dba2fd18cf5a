package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"example.com/gitlab-runner-fleet/tools/cluster"
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

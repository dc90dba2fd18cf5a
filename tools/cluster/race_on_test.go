//go:build e2e && race

package cluster

// testBuildFlags build the tools a test starts with the race detector too,
// when the test itself runs with it.
var testBuildFlags = []string{"-race"}

//go:build e2e && !race

package cluster

// testBuildFlags are added to the go build of the tools a test starts.
var testBuildFlags []string

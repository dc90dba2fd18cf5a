// Package e2e runs the program through the real Pulumi engine (Automation
// API, inline program) against a real Kubernetes API server (the local
// control plane with kwok nodes, and the pod runner, which runs every fleet's
// managers as the real GitLab Runner) and the local GitLab API stand-in.
//
// The tests carry the build tag e2e, so that `go test ./...` runs only the
// fast layers: `make e2e` runs them with `go test -tags e2e ./tests/e2e/`
// (about 20 minutes on 2 cores, root needed for the pod runner).
//
// TestMain builds or reuses the toolchain, starts a private GitLab stand-in
// and cluster on free ports, and stops them at the end; a reaper process
// stops them too when the test binary is killed (reaper_test.go). Each test
// uses its own stack and fleets.
package e2e

// Package gitlabrunner builds GitLab Runner (gitlab-runner and
// gitlab-runner-helper) from its Go module, for the local setup and the
// tests: build.sh, called by tools/toolchain.sh, compiles the runner's own
// main packages at the version go.mod pins.
//
// The Go proxy refuses some of the runner's dependencies. go.mod replaces
// each with a compile-only stand-in under standins/: the API surface the
// runner's code needs to compile, every function failing with a
// refusal.Error (returned, or panicked where there is no error to return)
// that names the stand-in, the refused module and the runner feature that
// reached it. docs/local-setup.md (section "The real GitLab Runner") lists them and
// why a Kubernetes-executor manager with this project's configs never
// reaches them. The tests here prove both halves: every stand-in refuses, and
// the built binaries run (version, lint, register).
package gitlabrunner

// Package runnerconfig is what GitLab Runner reads: its configuration,
// rendered from a fleet's settings, and the job pods it builds from it.
//
// The configuration is two TOML documents encoded from typed structs whose
// `toml` tags are GitLab Runner's own config.toml key names and whose
// `runner` tags name the runner's Go struct that holds each key
// (common/config.go), so that UnsupportedRunnerKeys can check every rendered
// key against the release the managers run (package runnerversion):
//
//   - config.toml holds the global settings (Global, RenderGlobalConfig); the
//     entrypoint copies it into the config directory;
//   - runner-template.toml holds one [[runners]] entry (Runner,
//     RenderRunnerTemplate, with executor.extraConfig merged in);
//     `gitlab-runner register --template-config` merges it when it verifies
//     the token and appends the runner (with its URL, token and system id)
//     to config.toml.
//
// Neither document holds the token: it reaches the pod only through a
// Secret.
//
// JobPod models the pod the runner's Kubernetes executor creates for a job
// from a [[runners]] entry, and Check proves, before anything is created,
// that the rendered configuration is read whole by the runner release and
// that its job pods pass the job namespace's Pod Security level.
//
// A capability that renders keys keeps them in a file of its own here (its
// TOML types and an init function adding its part to Runner).
//
// This package imports no Pulumi package, nor package fleet.
package runnerconfig

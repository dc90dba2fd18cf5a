// Package addmask is a compile-only stand-in for the addmask package of
// gitlab.com/ajwalker/phrasestream v0.0.0-20250306164532-3b0af7cb1452, which
// the Go proxy refuses: it masks secrets in the output of commands the
// helper runs under `gitlab-runner-helper proxy-exec`. Every function fails:
// those that return an error return a refusal.Error, the others panic with
// one.
//
// A Kubernetes-executor manager with this project's configs never reaches
// it: proxy-exec wraps job commands only with `proxy_exec = true` in
// [[runners]] (experimental, default false, never rendered by the fleet;
// common/config.go IsProxyExec, helpers/container/helperimage), and it runs
// in the helper inside a job pod, not in the manager.
package addmask

import (
	"io"

	"gitlab-runner-fleet/tools/build/gitlab-runner/standins/refusal"
)

var module = refusal.Module{
	Path:    "gitlab.com/ajwalker/phrasestream",
	Version: "v0.0.0-20250306164532-3b0af7cb1452",
	Feature: "proxy-exec output masking (proxy_exec = true)",
}

// AddMask masks phrases in a command's output streams.
type AddMask struct{}

// New refuses.
func New(store any, stdout, stderr io.Writer) (*AddMask, error) {
	return nil, module.Err("addmask.New")
}

// Get refuses.
func (*AddMask) Get(int) io.Writer {
	module.Panic("addmask.AddMask.Get")
	return nil
}

// Close refuses.
func (*AddMask) Close() error {
	return module.Err("addmask.AddMask.Close")
}

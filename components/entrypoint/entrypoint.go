// Package entrypoint is the runner manager container's entrypoint and
// preStop hook, a POSIX shell script (entrypoint.sh says what it does): it
// verifies the runner token with `gitlab-runner register`, runs the runner
// as PID 1, and drains it on stop.
//
// The manager pod (package fleet) mounts it and sets the environment it
// reads: CI_SERVER_URL, POD_NAME, CONFIG_DIR, TEMPLATE_DIR,
// RUNNER_TOKEN_FILE, REGISTER_BUDGET_SECONDS and DRAIN_SECONDS.
package entrypoint

import _ "embed"

// Script is the text of entrypoint.sh.
//
//go:embed entrypoint.sh
var Script string

// FileName is the script's name in the manager container.
const FileName = "entrypoint.sh"

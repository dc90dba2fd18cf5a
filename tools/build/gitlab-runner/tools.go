//go:build tools

package gitlabrunner

// The runner's two commands, so that `go mod tidy` keeps their modules.
import (
	_ "gitlab.com/gitlab-org/gitlab-runner"
	_ "gitlab.com/gitlab-org/gitlab-runner/apps/gitlab-runner-helper"
)

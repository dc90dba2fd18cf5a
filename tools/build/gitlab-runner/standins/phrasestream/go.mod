// Compile-only stand-in for gitlab.com/ajwalker/phrasestream, which the Go
// proxy refuses; see addmask/addmask.go.
module gitlab.com/ajwalker/phrasestream

go 1.26.6

require gitlab-runner-fleet/tools/build/gitlab-runner/standins/refusal v0.0.0

// Package steprunner is a compile-only stand-in for
// gitlab.com/gitlab-org/step-runner v0.44.0, which the Go proxy refuses.
//
// step-runner runs CI steps: the `run:` keyword (native steps), FF_CONCRETE
// (the job's stages run as one step-runner step), job inputs (the
// expression package evaluates ${{ inputs.* }}), and the `gitlab-runner
// steps` / `gitlab-runner-helper steps` commands that serve it inside job
// containers. Every function and method fails: those that return an error
// return a refusal.Error, the others panic with one. Steps in a job payload
// refuse to be decoded: the runner's job request fails as a client error
// naming this stand-in, and the job does not start.
//
// Two calls succeed because the runner makes them for jobs that use none of
// this: api.DefaultSocketPath (the default of the `steps` commands' --socket
// flag, computed when the CLI is built; it returns a path naming the stand-in)
// and expression.NewEvaluator (called for every job payload with an `inputs`
// key, even an empty one; the evaluator it returns fails when used).
//
// A Kubernetes-executor manager with this project's configs never reaches the
// rest: no job the lab sends uses `run:` or inputs (spec.Run and spec.Inputs
// stay empty, and Inputs.Expand returns before evaluating when there are no
// inputs); FF_CONCRETE is off (default false, not rendered); the `steps`
// commands run only inside job containers of native-steps jobs.
package steprunner

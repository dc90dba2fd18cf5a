package fleet

import "github.com/pulumi/pulumi/sdk/v3/go/pulumi"

// RunnerToken is the fleet's runner token (a secret output), for a program
// that asks GitLab about it (POST /runners/verify tells its expiry and
// runner, which nothing else in GitLab's API shows). ok is false when the
// token lives in an existing Secret the stack never reads (tokenSecret).
// It is not a registered output of the component: the token stays inside
// the fleet's state and its Secret.
func (f *RunnerFleet) RunnerToken() (token pulumi.StringOutput, ok bool) {
	return f.token, f.token.OutputState != nil
}

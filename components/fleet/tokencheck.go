package fleet

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The token check makes a dead token visible. When the runner is deleted in
// GitLab or its token expires, the runner process stays up polling for jobs
// (each answered 403, counted as a health-check failure, then an hour's
// pause per runner: commands/health_helper.go), /metrics keeps answering and
// the probes pass: nothing restarts or alerts. With this part of the manager
// pod the entrypoint asks GitLab about the token every tokenCheckSeconds with
// the runner's own `gitlab-runner verify`, which fails only when GitLab
// refuses the token (403), not when GitLab cannot be reached; after
// tokenCheckFailures refusals in a row it stops the runner gracefully
// (running jobs finish), so the pod turns not ready and its restarts cannot
// verify the token until a new one rolls the pods. On for every fleet: any
// token, created by the stack or given, can be deleted or expire.
func tokenCheck(*build) (podPart, error) {
	env := func(name string, value int) *corev1.EnvVarArgs {
		return &corev1.EnvVarArgs{Name: pulumi.String(name), Value: pulumi.String(fmt.Sprint(value))}
	}
	return podPart{Env: map[string]*corev1.EnvVarArgs{
		"TOKEN_CHECK_SECONDS":  env("TOKEN_CHECK_SECONDS", tokenCheckSeconds),
		"TOKEN_CHECK_FAILURES": env("TOKEN_CHECK_FAILURES", tokenCheckFailures),
	}}, nil
}

func init() { addCapability("token-check", tokenCheck) }

// A dead token stops the runner within tokenCheckSeconds × tokenCheckFailures
// (30 s) of the runner's deletion, plus the checks' own time, and the pod is
// then not ready at once unless jobs still run; one refusal alone (a proxy's
// hiccup) stops nothing. Each check is one POST /api/v4/runners/verify per
// manager.
const (
	tokenCheckSeconds  = 15
	tokenCheckFailures = 2
)

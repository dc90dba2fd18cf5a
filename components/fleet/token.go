package fleet

import (
	"fmt"

	"github.com/pulumi/pulumi-gitlab/sdk/v8/go/gitlab"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// runnerToken is where a fleet's runner token comes from: a runner the
// stack creates in GitLab, an existing token from a secret stack setting
// (tokenConfigKey), or an existing Secret (tokenSecret).
type runnerToken struct {
	// token is the token (always secret); unset with an existing Secret.
	token pulumi.StringOutput
	// runnerID is the runner's id in GitLab; empty for an existing token.
	runnerID pulumi.StringOutput
	// runner is the UserRunner; nil for an existing token.
	runner pulumi.Resource
}

// tokenSecret names the Secret and key the manager pod mounts the token from.
type tokenSecret struct {
	Name pulumi.StringInput
	Key  string
}

// newRunnerToken creates the runner in GitLab, or takes the existing token.
func newRunnerToken(ctx *pulumi.Context, fleetArgs *preparedArgs, parent pulumi.ResourceOption) (runnerToken, error) {
	s, existing := fleetArgs.Settings, fleetArgs.Token
	if s.TokenSecret != nil {
		// The token lives in an existing Secret the pods mount directly.
		return runnerToken{runnerID: pulumi.String("").ToStringOutput()}, nil
	}
	if !s.ManagesRunner() {
		if existing == nil {
			return runnerToken{}, fmt.Errorf("fleet %q: tokenConfigKey %q is set but no Token was given", s.Name, s.TokenConfigKey)
		}
		return runnerToken{token: pulumi.ToSecret(existing).(pulumi.StringOutput), runnerID: pulumi.String("").ToStringOutput()}, nil
	}
	r := s.Runner
	args := &gitlab.UserRunnerArgs{
		RunnerType:      pulumi.String(r.Type),
		Description:     pulumi.String(r.Description),
		TagLists:        pulumi.ToStringArray(r.Tags),
		Untagged:        pulumi.Bool(*r.Untagged),
		Locked:          pulumi.Bool(r.Locked),
		Paused:          pulumi.Bool(r.Paused),
		AccessLevel:     pulumi.String(r.AccessLevel),
		MaintenanceNote: pulumi.String(r.MaintenanceNote),
	}
	switch {
	case fleetArgs.GroupID != nil:
		args.GroupId = fleetArgs.GroupID
	case r.GroupID != 0:
		args.GroupId = pulumi.Int(r.GroupID)
	}
	switch {
	case fleetArgs.ProjectID != nil:
		args.ProjectId = fleetArgs.ProjectID
	case r.ProjectID != 0:
		args.ProjectId = pulumi.Int(r.ProjectID)
	}
	if r.MaximumTimeout != 0 {
		args.MaximumTimeout = pulumi.Int(r.MaximumTimeout)
	}
	opts := []pulumi.ResourceOption{parent}
	if period, ok := r.RotationPeriod(); ok {
		// A new period replaces the runner: new runner and token first, the
		// pods roll to them, the old runner is deleted last (see
		// settings.RotationWindow).
		opts = append(opts, pulumi.ReplacementTrigger(pulumi.String(fmt.Sprint(settings.RotationWindow(fleetArgs.now(), period)))))
	}
	runner, err := gitlab.NewUserRunner(ctx, s.Name, args, opts...)
	if err != nil {
		return runnerToken{}, err
	}
	// The token is secret in the provider's schema and in AdditionalSecretOutputs.
	return runnerToken{token: runner.Token, runnerID: runner.ID().ToStringOutput(), runner: runner}, nil
}

// secret is the Secret the manager pod mounts the token from: the existing
// one, or one the fleet makes. The fleet's is auto-named, so a new token is
// a new Secret and the pods roll to it.
func (t runnerToken) secret(b *build) (tokenSecret, error) {
	s := b.s
	if ref := s.TokenSecret; ref != nil {
		return tokenSecret{Name: pulumi.String(ref.Name), Key: ref.Key}, nil
	}
	secret, err := corev1.NewSecret(b.ctx, s.Name+"-token", &corev1.SecretArgs{
		Metadata:   autoNamedMeta(s, b.namespace),
		Type:       pulumi.String("Opaque"),
		StringData: pulumi.StringMap{settings.DefaultTokenKey: t.token},
	}, b.parent)
	if err != nil {
		return tokenSecret{}, err
	}
	return tokenSecret{Name: secret.Metadata.Name().Elem(), Key: settings.DefaultTokenKey}, nil
}

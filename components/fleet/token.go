package fleet

import (
	"fmt"
	"time"

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
	// previous is the previous rotation period's runner, kept for one more
	// period so that managers not yet rolled keep a valid token (see
	// rotationSlots); nil without runner.rotateEvery.
	previous pulumi.Resource
}

// runners are the fleet's runners in GitLab, for the objects that must wait
// for them (and, on destroy, go before them).
func (t runnerToken) runners() []pulumi.Resource {
	var out []pulumi.Resource
	for _, r := range []pulumi.Resource{t.runner, t.previous} {
		if r != nil {
			out = append(out, r)
		}
	}
	return out
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
	if period, ok := r.RotationPeriod(); ok {
		return rotatingRunners(ctx, s, args, period, fleetArgs.now(), parent)
	}
	runner, err := gitlab.NewUserRunner(ctx, s.Name, args, parent)
	if err != nil {
		return runnerToken{}, err
	}
	// The token is secret in the provider's schema and in AdditionalSecretOutputs.
	return runnerToken{token: runner.Token, runnerID: runner.ID().ToStringOutput(), runner: runner}, nil
}

// rotatingRunners are the two runners of a fleet with runner.rotateEvery:
// the current period's, whose token the managers get, and the previous
// period's, which the managers not yet rolled still poll with.
//
// Each lives in a slot named after the parity of its period
// (rotationSlot). The first `up` of period N replaces slot N%2 (its trigger
// moves from N-2 to N: a new runner and token, the pods roll to them) and
// leaves slot (N-1)%2, the runner the pods used until then, as it is. That
// runner is deleted one period later, when the first `up` of period N+1
// replaces its slot: by then every manager has long rolled to period N's
// token (a rollout takes at most replicas × terminationGracePeriodSeconds).
// So no manager ever polls with a deleted token and a manager can take jobs
// throughout a rotation, provided `up` runs in every period. GitLab lists
// both runners; the maintenance note says which period each belongs to.
func rotatingRunners(ctx *pulumi.Context, s settings.FleetSettings, args *gitlab.UserRunnerArgs, period time.Duration, now time.Time, parent pulumi.ResourceOption) (runnerToken, error) {
	window := settings.RotationWindow(now, period)
	slot := func(w int64, opts ...pulumi.ResourceOption) (*gitlab.UserRunner, error) {
		slotArgs := *args
		note := fmt.Sprintf("gitlab-runner-fleet: rotation period %d (from %s); replaced when period %d begins",
			w, time.Unix(0, w*int64(period)).UTC().Format(time.RFC3339), w+2)
		if s.Runner.MaintenanceNote != "" {
			note = s.Runner.MaintenanceNote + "\n" + note
		}
		slotArgs.MaintenanceNote = pulumi.String(note)
		return gitlab.NewUserRunner(ctx, rotationSlot(s.Name, w), &slotArgs,
			append([]pulumi.ResourceOption{parent, pulumi.ReplacementTrigger(pulumi.String(fmt.Sprint(w)))}, opts...)...)
	}
	// The current slot takes over the runner of a fleet that did not rotate
	// before (named after the fleet): turning rotation on replaces nothing.
	current, err := slot(window, pulumi.Aliases([]pulumi.Alias{{Name: pulumi.String(s.Name)}}))
	if err != nil {
		return runnerToken{}, err
	}
	previous, err := slot(window - 1)
	if err != nil {
		return runnerToken{}, err
	}
	return runnerToken{token: current.Token, runnerID: current.ID().ToStringOutput(), runner: current, previous: previous}, nil
}

// rotationSlot names the runner of rotation period w: one of two slots,
// by the period's parity.
func rotationSlot(fleet string, w int64) string {
	if w%2 == 0 {
		return fleet + "-even"
	}
	return fleet + "-odd"
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

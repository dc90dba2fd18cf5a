package program

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/glrf/gitlab-runner-fleet/components/fleet"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// explainRotation says, in a preview, why a fleet's runner is replaced when
// the reason is token rotation. The engine shows a replacement that a
// replacement trigger (runner.rotateEvery's period number) asks for
// without any changed property, so nothing else in the preview says why.
//
// The program does not see the period the state holds, so it reasons from
// what it can see: in the preview the runner's id is unknown (it is created
// or replaced), the fleet's current token is in the cluster already (its
// token Secret exists: the fleet is not new) and that Secret is older than
// the start of the current period (no `up` in this period made it). The
// message is logged on the fleet and names the period's start, the token's
// date and the next period. It returns tokenRotatesAfter unchanged: the
// program exports it, which makes the engine wait for this check.
func (o Options) explainRotation(ctx *pulumi.Context, f *fleet.RunnerFleet, s settings.FleetSettings, cluster clusterAccess) pulumi.StringOutput {
	period, ok := s.Runner.RotationPeriod()
	if !ctx.DryRun() || !ok || !s.ManagesRunner() {
		return f.TokenRotatesAfter
	}
	return pulumi.All(f.TokenRotatesAfter, f.Namespace).ApplyT(func(v []any) (string, error) {
		rotatesAfter, namespace := v[0].(string), v[1].(string)
		id, err := internals.UnsafeAwaitOutput(ctx.Context(), f.RunnerID)
		if err != nil || id.Known {
			return rotatesAfter, nil // the runner stays
		}
		now := o.now()
		start := settings.NextRotation(now, period).Add(-period)
		tokenDate, found := o.currentTokenDate(cluster, namespace, s.Name)
		if !found || !tokenDate.Before(start) {
			return rotatesAfter, nil // a new fleet, or replaced for another reason (the diff shows it)
		}
		_ = ctx.Log.Info(fmt.Sprintf("fleet %s: the runner and its token are replaced by rotation: runner.rotateEvery is %s and a new period began at %s, "+
			"after the current token was made (%s); the new runner and token come first, the managers roll onto them, the old runner is deleted last; "+
			"the next period begins at %s", s.Name, s.Runner.RotateEvery, start.Format(time.RFC3339), tokenDate.UTC().Format(time.RFC3339),
			settings.NextRotation(now, period).Format(time.RFC3339)), &pulumi.LogArgs{Resource: f})
		return rotatesAfter, nil
	}).(pulumi.StringOutput)
}

// currentTokenDate is when the fleet's newest token Secret was made; found
// is false when there is none, or the cluster cannot say.
func (o Options) currentTokenDate(cluster clusterAccess, namespace, name string) (time.Time, bool) {
	client, err := o.Kube(cluster.access)
	if err != nil {
		return time.Time{}, false
	}
	selector := labels.SelectorFromSet(fleet.SelectorLabels(settings.FleetSettings{Name: name})).String()
	secrets, err := client.CoreV1().Secrets(namespace).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return time.Time{}, false
	}
	var newest time.Time
	for _, secret := range secrets.Items {
		if strings.HasPrefix(secret.Name, name+"-token") && secret.CreationTimestamp.After(newest) {
			newest = secret.CreationTimestamp.Time
		}
	}
	return newest, !newest.IsZero()
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

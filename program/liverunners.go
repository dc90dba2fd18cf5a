package program

import (
	"context"
	"errors"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// errNoRunnerRecord: the StatefulSet does not name the runner its pods use
// (an older version of the fleet made it).
var errNoRunnerRecord = errors.New("its StatefulSet does not name the runner its managers use (made by an older version; this `up` records it)")

// ReadLiveRunners reads which of a fleet's runners its managers use, before
// `up` registers anything, so that a token rotation never deletes a runner a
// manager still polls with (settings.PlanRunners): the runner the pod
// template names (settings.RunnerAnnotation), the previous one the
// StatefulSet names (settings.PreviousRunnerAnnotation), and whether every
// manager runs the template (the rollout kubectl would call complete). A
// fleet without a StatefulSet has nothing in use. An error means the answer
// is not known.
func ReadLiveRunners(ctx context.Context, client kubernetes.Interface, namespace, name string) (*settings.LiveRunners, error) {
	sts, err := client.AppsV1().StatefulSets(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return &settings.LiveRunners{}, nil
	}
	if err != nil {
		return nil, err
	}
	inUse, ok := sts.Spec.Template.Annotations[settings.RunnerAnnotation]
	if !ok {
		return nil, errNoRunnerRecord
	}
	selector, err := metav1.LabelSelectorAsSelector(sts.Spec.Selector)
	if err != nil {
		return nil, err
	}
	pods, err := client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, err
	}
	live := &settings.LiveRunners{InUse: settings.ParseRunnerSlot(inUse), RolledOut: noneOnAnOlderTemplate(sts, rolloutOf(sts, pods.Items))}
	if prev, ok := sts.Annotations[settings.PreviousRunnerAnnotation]; ok {
		live.Previous = settings.ParseRunnerSlot(prev)
	}
	return live, nil
}

// liveRunners reads, for every fleet that makes its runner in GitLab, which
// runners its managers use (ReadLiveRunners), by fleet name. A fleet whose
// cluster cannot be read is left out: its runners follow the rotation
// periods alone, and a rotating one says so (the fleet warns; the reason is
// logged here).
func (o Options) liveRunners(ctx *pulumi.Context, stack *Stack, targets map[string]clusterTarget) map[string]*settings.LiveRunners {
	out := map[string]*settings.LiveRunners{}
	clients := map[string]kubernetes.Interface{}
	failed := map[string]error{}
	for _, p := range stack.Plans {
		s := p.Settings
		if !s.ManagesRunner() {
			continue
		}
		client, err := clients[s.Cluster], failed[s.Cluster]
		if client == nil && err == nil {
			if client, err = o.Kube(targets[s.Cluster].access); err != nil {
				failed[s.Cluster] = err
			} else {
				clients[s.Cluster] = client
			}
		}
		var live *settings.LiveRunners
		if err == nil {
			live, err = ReadLiveRunners(context.Background(), client, s.Namespace, s.Name)
		}
		if err != nil {
			if s.Runner.RotateEvery != "" {
				_ = ctx.Log.Info(fmt.Sprintf("fleet %s: cannot learn which runner its managers use: %s", s.Name, redact(err.Error(), targets[s.Cluster].secrets)), nil)
			}
			continue
		}
		out[s.Name] = live
	}
	return out
}

// noneOnAnOlderTemplate: the StatefulSet controller has seen the current
// template and no manager pod runs an older one or is still draining, so no
// manager polls with an older template's token. Readiness is not asked: a
// manager on the current template that is not ready does not use the old
// token either, and the controller does not move past a new pod that is not
// ready, so the managers it leaves on the old template keep the old runner.
func noneOnAnOlderTemplate(sts *appsv1.StatefulSet, r Rollout) bool {
	return sts.Status.ObservedGeneration >= sts.Generation && len(r.Draining) == 0 && len(r.Pending) == 0
}

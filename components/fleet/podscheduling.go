package fleet

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// podScheduling gives the manager pods manager.pod.priorityClassName (an
// existing PriorityClass, checked before anything is created) and
// manager.pod.topologySpread, each constraint counting the fleet's own
// managers only.
func podScheduling(b *build) (podPart, error) {
	p := b.s.Manager.Pod
	var spread corev1.TopologySpreadConstraintArray
	for _, t := range p.TopologySpread {
		c := &corev1.TopologySpreadConstraintArgs{
			TopologyKey:       pulumi.String(t.TopologyKey),
			MaxSkew:           pulumi.Int(t.MaxSkew),
			WhenUnsatisfiable: pulumi.String(t.WhenUnsatisfiable),
			LabelSelector:     &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(SelectorLabels(b.s))},
		}
		if t.MinDomains != nil {
			c.MinDomains = pulumi.Int(*t.MinDomains)
		}
		spread = append(spread, c)
	}
	return podPart{PriorityClassName: p.PriorityClassName, TopologySpread: spread}, nil
}

func init() { addCapability("podscheduling", podScheduling) }

package fleet

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// monitor creates a PodMonitor or ServiceMonitor of the managers' metrics
// port (settings.MonitoringSettings), declared through the Kubernetes
// provider's generic CustomResource.
func monitor(b *build) (podPart, error) {
	if b.s.Manager.Monitoring.Kind == "" {
		return podPart{}, nil
	}
	_, err := apiextensions.NewCustomResource(b.ctx, b.s.Name+"-monitor", monitorArgs(b.s, b.namespace), b.parent)
	return podPart{}, err
}

func init() { addCapability("monitoring", monitor) }

// monitorArgs is the PodMonitor or ServiceMonitor of a fleet's managers.
func monitorArgs(s settings.FleetSettings, namespace pulumi.StringInput) *apiextensions.CustomResourceArgs {
	m := s.Manager.Monitoring
	endpoint := pulumi.Map{"port": pulumi.String("metrics"), "path": pulumi.String("/metrics")}
	if m.Interval != "" {
		endpoint["interval"] = pulumi.String(m.Interval)
	}
	selector := pulumi.Map{"matchLabels": pulumi.ToStringMap(SelectorLabels(s))}
	spec := pulumi.Map{"selector": selector}
	if m.Kind == "PodMonitor" {
		spec["podMetricsEndpoints"] = pulumi.Array{endpoint}
	} else {
		spec["endpoints"] = pulumi.Array{endpoint}
	}
	meta := objectMeta(s, fmt.Sprintf("%s-managers", s.Name), namespace)
	meta.Labels = pulumi.ToStringMap(merged(m.Labels, Labels(s)))
	return &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String(settings.MonitoringGroupVersion),
		Kind:        pulumi.String(m.Kind),
		Metadata:    meta,
		OtherFields: map[string]any{"spec": spec},
	}
}

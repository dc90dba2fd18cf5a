package components

import (
	"fmt"
	"time"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Metrics for the Prometheus Operator: a PodMonitor (or a ServiceMonitor on
// the headless Service) of the managers' metrics port, declared through the
// Kubernetes provider's generic CustomResource. The program checks before
// anything is created that the cluster serves the kind
// (monitoring.coreos.com/v1), and that Prometheus's namespace may reach the
// port (network.metricsFrom).

// MonitoringSettings ask for a PodMonitor or a ServiceMonitor.
type MonitoringSettings struct {
	// Kind: PodMonitor or ServiceMonitor; empty: none.
	Kind string `json:"kind,omitempty"`
	// Labels select the monitor in Prometheus (e.g. release: prometheus).
	Labels map[string]string `json:"labels,omitempty"`
	// Interval between scrapes ("30s").
	Interval string `json:"interval,omitempty"`
}

// MonitoringGroupVersion is the Prometheus Operator's API.
const MonitoringGroupVersion = "monitoring.coreos.com/v1"

func (m MonitoringSettings) validate(ps *Problems, path string, n NetworkSettings) {
	if m.Kind == "" {
		if len(m.Labels) > 0 || m.Interval != "" {
			ps.add(path+".kind", "is required with the other monitoring settings: PodMonitor or ServiceMonitor")
		}
		return
	}
	checkEnum(ps, path+".kind", m.Kind, []string{"PodMonitor", "ServiceMonitor"})
	checkLabels(ps, path+".labels", m.Labels)
	if m.Interval != "" {
		if d, err := time.ParseDuration(m.Interval); err != nil || d < time.Second {
			ps.add(path+".interval", "%q is not a scrape interval such as \"30s\"", m.Interval)
		}
	}
	if n.PoliciesOn() && len(n.MetricsFrom) == 0 {
		ps.add(path+".kind", "asks for a %s, but the managers' NetworkPolicy lets nothing reach the metrics port: add Prometheus's namespace to network.metricsFrom", m.Kind)
	}
}

// monitorArgs is the PodMonitor or ServiceMonitor of a fleet's managers.
func monitorArgs(s FleetSettings, namespace pulumi.StringInput) *apiextensions.CustomResourceArgs {
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
	meta.Labels = pulumi.ToStringMap(mergeMaps(m.Labels, Labels(s)))
	return &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String(MonitoringGroupVersion),
		Kind:        pulumi.String(m.Kind),
		Metadata:    meta,
		OtherFields: map[string]any{"spec": spec},
	}
}

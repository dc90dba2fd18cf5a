package settings

import "time"

// MonitoringSettings ask for a PodMonitor or a ServiceMonitor: metrics for
// the Prometheus Operator, of the managers' metrics port (a ServiceMonitor
// through the headless Service). The program checks before anything is
// created that the cluster serves the kind (MonitoringGroupVersion), and
// validation that Prometheus's namespace may reach the port
// (network.metricsFrom).
type MonitoringSettings struct {
	// Kind: PodMonitor or ServiceMonitor; empty: none.
	Kind string `json:"kind,omitempty" enum:"PodMonitor,ServiceMonitor"`
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
			ps.Add(path+".kind", "is required with the other monitoring settings: PodMonitor or ServiceMonitor")
		}
		return
	}
	checkEnum(ps, path+".kind", m.Kind, enumOf[MonitoringSettings]("Kind"))
	checkLabels(ps, path+".labels", m.Labels)
	if m.Interval != "" {
		if d, err := time.ParseDuration(m.Interval); err != nil || d < time.Second {
			ps.Add(path+".interval", "%q is not a scrape interval such as \"30s\"", m.Interval)
		}
	}
	if n.PoliciesOn() && len(n.MetricsFrom) == 0 {
		ps.Add(path+".kind", "asks for a %s, but the managers' NetworkPolicy lets nothing reach the metrics port: add Prometheus's namespace to network.metricsFrom", m.Kind)
	}
}

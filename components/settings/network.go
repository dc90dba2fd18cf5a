package settings

import (
	"fmt"
	"net/netip"
)

// NetworkSettings configure the fleet's NetworkPolicies: what a job, and a
// manager, can reach.
//
// A job runs code from anyone who can open a merge request. Without policies
// it reaches every manager's metrics port (runner version, job URLs of
// private projects, /debug/pprof), the API server and the cloud metadata
// address. Each job namespace gets one policy for all its pods: no ingress
// at all (a job's services share its pod), egress to any namespace but the
// stack's managers' namespaces and its own (no job reaches another job), and
// to any address but the API server and the metadata services; or, with
// network.jobEgressCidrs, only to those addresses (and DNS). Each fleet's
// managers get one: ingress only to the metrics port and only from
// network.metricsFrom, egress only to DNS, the API server and GitLab's port
// (at network.gitlabCidrs when set).
//
// A NetworkPolicy is enforced by the cluster's network plugin; the API
// server only stores it. Some plugins also apply address rules (ipBlock) to
// pod addresses: there, list the pod and service ranges in
// network.jobDeniedCidrs so that the "any address" rule cannot reach pods the
// namespace rule keeps out.
type NetworkSettings struct {
	// Policies creates the NetworkPolicies (default true). Turning them off
	// leaves jobs able to reach the managers, the API server and the cloud
	// metadata service.
	Policies *bool `json:"policies,omitempty"`
	// MetricsFrom names the namespaces allowed to reach the managers' metrics
	// port, e.g. [monitoring]. Default: none.
	MetricsFrom []string `json:"metricsFrom,omitempty"`
	// GitlabCIDRs are GitLab's addresses: the managers reach GitLab's port
	// only there. Default: any address outside the metadata services.
	GitlabCIDRs []string `json:"gitlabCidrs,omitempty"`
	// JobEgressCIDRs, when set, are the only addresses jobs may reach
	// (besides DNS). Default: any address but the API server and the
	// metadata services, and any namespace but the managers'.
	JobEgressCIDRs []string `json:"jobEgressCidrs,omitempty"`
	// JobDeniedCIDRs are more addresses jobs must not reach.
	JobDeniedCIDRs []string `json:"jobDeniedCidrs,omitempty"`
}

func (n NetworkSettings) withDefaults() NetworkSettings {
	n.Policies = defaultBool(n.Policies, true)
	return n
}

// PoliciesOn reports whether the fleet creates NetworkPolicies.
func (n NetworkSettings) PoliciesOn() bool { return n.Policies == nil || *n.Policies }

func (n NetworkSettings) validate(ps *Problems, path string) {
	for _, ns := range n.MetricsFrom {
		checkDNS1123(ps, path+".metricsFrom", ns)
	}
	for _, list := range []struct {
		name  string
		cidrs []string
	}{{"gitlabCidrs", n.GitlabCIDRs}, {"jobEgressCidrs", n.JobEgressCIDRs}, {"jobDeniedCidrs", n.JobDeniedCIDRs}} {
		for i, c := range list.cidrs {
			if _, err := netip.ParsePrefix(c); err != nil {
				ps.Add(fmt.Sprintf("%s.%s[%d]", path, list.name, i), "%q is not an address range such as \"203.0.113.0/24\" or \"2001:db8::/32\"", c)
			}
		}
	}
	if !n.PoliciesOn() && (len(n.MetricsFrom)+len(n.GitlabCIDRs)+len(n.JobEgressCIDRs)+len(n.JobDeniedCIDRs) > 0) {
		ps.Add(path+".policies", "is false, so the other network settings would do nothing; remove them or turn policies on")
	}
}

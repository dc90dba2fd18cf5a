package settings

import (
	"fmt"
	"maps"
	"net/netip"

	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
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
// DNS goes to the cluster's DNS pods only (network.clusterDns, kube-system's
// k8s-app=kube-dns by default) and to a node-local DNS cache when
// network.nodeLocalDns names its address: a DNS rule without destinations
// would let any pod talk to any server on port 53, a way out. The link-local
// range is closed as a whole (the cloud metadata services live there); a
// node-local cache there is reached through the DNS rule only.
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
	// ClusterDNS names the cluster's DNS server pods. Default: namespace
	// kube-system, labels k8s-app=kube-dns (CoreDNS and kube-dns on kubeadm,
	// EKS, GKE and AKS).
	ClusterDNS ClusterDNSSettings `json:"clusterDns"`
	// NodeLocalDNS is the address of a node-local DNS cache that pods query
	// (NodeLocal DNSCache: 169.254.20.10), if the cluster has one.
	NodeLocalDNS string `json:"nodeLocalDns,omitempty"`
}

// ClusterDNSSettings name the pods that serve the cluster's DNS.
type ClusterDNSSettings struct {
	// Namespace is the namespace of the cluster's DNS pods. Default:
	// kube-system.
	Namespace string `json:"namespace,omitempty"`
	// PodLabels are the labels of the cluster's DNS pods. Default:
	// k8s-app=kube-dns.
	PodLabels map[string]string `json:"podLabels,omitempty"`
}

// DNSPlan is where pods may send DNS queries: the cluster's DNS pods (by
// namespace and labels) and a node-local cache's address ("" when none).
type DNSPlan struct {
	Namespace string
	PodLabels map[string]string
	NodeLocal string
}

// Default cluster DNS pods.
const (
	DefaultDNSNamespace = "kube-system"
	defaultDNSLabel     = "k8s-app"
	defaultDNSValue     = "kube-dns"
)

// DNS is where the fleet's pods may send DNS queries.
func (n NetworkSettings) DNS() DNSPlan {
	d := DNSPlan{Namespace: n.ClusterDNS.Namespace, PodLabels: maps.Clone(n.ClusterDNS.PodLabels), NodeLocal: n.NodeLocalDNS}
	if d.Namespace == "" {
		d.Namespace = DefaultDNSNamespace
	}
	if len(d.PodLabels) == 0 {
		d.PodLabels = map[string]string{defaultDNSLabel: defaultDNSValue}
	}
	return d
}

// Equal reports whether two DNS plans allow the same destinations.
func (d DNSPlan) Equal(o DNSPlan) bool {
	return d.Namespace == o.Namespace && d.NodeLocal == o.NodeLocal && maps.Equal(d.PodLabels, o.PodLabels)
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
	if n.ClusterDNS.Namespace != "" {
		checkDNS1123(ps, path+".clusterDns.namespace", n.ClusterDNS.Namespace)
	}
	for _, err := range metav1validation.ValidateLabels(n.ClusterDNS.PodLabels, field.NewPath(path+".clusterDns.podLabels")) {
		ps.Add(path+".clusterDns.podLabels", "%s", err.Error())
	}
	if n.NodeLocalDNS != "" {
		if _, err := netip.ParseAddr(n.NodeLocalDNS); err != nil {
			ps.Add(path+".nodeLocalDns", "%q is not an IP address such as \"169.254.20.10\" (the node-local DNS cache's address)", n.NodeLocalDNS)
		}
	}
	dnsSet := n.ClusterDNS.Namespace != "" || len(n.ClusterDNS.PodLabels) > 0 || n.NodeLocalDNS != ""
	if !n.PoliciesOn() && (len(n.MetricsFrom)+len(n.GitlabCIDRs)+len(n.JobEgressCIDRs)+len(n.JobDeniedCIDRs) > 0 || dnsSet) {
		ps.Add(path+".policies", "is false, so the other network settings would do nothing; remove them or turn policies on")
	}
}

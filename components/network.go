package components

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"

	discoveryv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/discovery/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// NetworkPolicies: what a job, and a manager, can reach.
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

// NetworkSettings configure the fleet's NetworkPolicies.
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
	n.Policies = boolOr(n.Policies, true)
	return n
}

// PoliciesOn reports whether the fleet creates NetworkPolicies.
func (n NetworkSettings) PoliciesOn() bool { return n.Policies == nil || *n.Policies }

// metadataCIDRs are the cloud instance metadata services (AWS, GCP, Azure,
// OpenStack share 169.254.169.254; AWS also fd00:ec2::254; Alibaba Cloud
// 100.100.100.200): they hand out the node's cloud credentials.
var metadataCIDRs = []string{"169.254.169.254/32", "100.100.100.200/32", "fd00:ec2::254/128"}

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
				ps.add(fmt.Sprintf("%s.%s[%d]", path, list.name, i), "%q is not an address range such as \"203.0.113.0/24\" or \"2001:db8::/32\"", c)
			}
		}
	}
	if !n.PoliciesOn() && (len(n.MetricsFrom)+len(n.GitlabCIDRs)+len(n.JobEgressCIDRs)+len(n.JobDeniedCIDRs) > 0) {
		ps.add(path+".policies", "is false, so the other network settings would do nothing; remove them or turn policies on")
	}
}

// APIServer is where the cluster's API server listens, for the policies.
type APIServer struct {
	// CIDRs are its addresses (/32 or /128 each).
	CIDRs pulumi.StringArrayInput
	// Ports are the ports it listens on.
	Ports pulumi.IntArrayInput
}

// DiscoverAPIServer reads the API server's addresses from the cluster: the
// EndpointSlice of the `kubernetes` Service in `default`, which the API
// server keeps itself. The read shows in previews; it changes nothing.
func DiscoverAPIServer(ctx *pulumi.Context, name string, opts ...pulumi.ResourceOption) (APIServer, error) {
	slice, err := discoveryv1.GetEndpointSlice(ctx, name, pulumi.ID("default/kubernetes"), nil, opts...)
	if err != nil {
		return APIServer{}, err
	}
	cidrs := slice.Endpoints.ApplyT(func(endpoints []discoveryv1.Endpoint) []string {
		var out []string
		for _, e := range endpoints {
			for _, a := range e.Addresses {
				out = append(out, hostCIDR(a))
			}
		}
		return out
	}).(pulumi.StringArrayOutput)
	ports := slice.Ports.ApplyT(func(ports []discoveryv1.EndpointPort) []int {
		var out []int
		for _, p := range ports {
			if p.Port != nil {
				out = append(out, *p.Port)
			}
		}
		return out
	}).(pulumi.IntArrayOutput)
	return APIServer{CIDRs: cidrs, Ports: ports}, nil
}

// StaticAPIServer is an API server given by its addresses and port.
func StaticAPIServer(cidrs []string, port int) APIServer {
	return APIServer{CIDRs: pulumi.ToStringArray(cidrs), Ports: pulumi.ToIntArray([]int{port})}
}

// hostCIDR turns an address into its one-address range.
func hostCIDR(address string) string {
	ip := net.ParseIP(address)
	if ip == nil {
		return address
	}
	if ip.To4() != nil {
		return address + "/32"
	}
	return address + "/128"
}

// jobNamespacePolicyArgs is the job namespace's policy: no ingress; egress
// to any namespace but the managers' and its own, and to addresses outside
// the cluster but the API server and the metadata services (or only to
// network.jobEgressCidrs, and DNS).
func jobNamespacePolicyArgs(jobNamespace pulumi.StringInput, j JobNamespacePlan, api APIServer) *networkingv1.NetworkPolicyArgs {
	var egress networkingv1.NetworkPolicyEgressRuleArray
	if len(j.EgressCIDRs) == 0 {
		closed := append(append([]string{}, j.ManagerNamespaces...), j.Name)
		egress = append(egress, &networkingv1.NetworkPolicyEgressRuleArgs{
			To: networkingv1.NetworkPolicyPeerArray{&networkingv1.NetworkPolicyPeerArgs{
				NamespaceSelector: &metav1.LabelSelectorArgs{MatchExpressions: metav1.LabelSelectorRequirementArray{
					&metav1.LabelSelectorRequirementArgs{Key: pulumi.String(namespaceNameLabel), Operator: pulumi.String("NotIn"),
						Values: pulumi.ToStringArray(sortedUnique(closed))},
				}},
			}},
		})
		egress = append(egress, &networkingv1.NetworkPolicyEgressRuleArgs{To: anyAddressBut(api.CIDRs, append(append([]string{}, metadataCIDRs...), j.DeniedCIDRs...))})
	} else {
		egress = append(egress, dnsEgress())
		egress = append(egress, &networkingv1.NetworkPolicyEgressRuleArgs{To: ipBlocks(j.EgressCIDRs)})
	}
	return &networkingv1.NetworkPolicyArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(jobNetworkPolicyName), Namespace: jobNamespace,
			Labels: pulumi.ToStringMap(map[string]string{"app.kubernetes.io/part-of": "gitlab-runner-fleet", "app.kubernetes.io/managed-by": "pulumi"})},
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: &metav1.LabelSelectorArgs{},
			PolicyTypes: pulumi.ToStringArray([]string{"Ingress", "Egress"}),
			Egress:      egress,
		},
	}
}

// jobNetworkPolicyName is the job namespace policy's name.
const jobNetworkPolicyName = "gitlab-runner-jobs"

// namespaceNameLabel is set by the API server on every namespace.
const namespaceNameLabel = "kubernetes.io/metadata.name"

// managerPolicyArgs is a fleet's managers' policy: metrics from
// network.metricsFrom only; egress to DNS, the API server and GitLab.
func managerPolicyArgs(s FleetSettings, namespace pulumi.StringInput, gitlabURL string, api APIServer) *networkingv1.NetworkPolicyArgs {
	n := s.Network
	var ingress networkingv1.NetworkPolicyIngressRuleArray
	if len(n.MetricsFrom) > 0 {
		ingress = append(ingress, &networkingv1.NetworkPolicyIngressRuleArgs{
			From: networkingv1.NetworkPolicyPeerArray{&networkingv1.NetworkPolicyPeerArgs{
				NamespaceSelector: &metav1.LabelSelectorArgs{MatchExpressions: metav1.LabelSelectorRequirementArray{
					&metav1.LabelSelectorRequirementArgs{Key: pulumi.String(namespaceNameLabel), Operator: pulumi.String("In"),
						Values: pulumi.ToStringArray(sortedUnique(n.MetricsFrom))},
				}},
			}},
			Ports: networkingv1.NetworkPolicyPortArray{&networkingv1.NetworkPolicyPortArgs{Port: pulumi.Int(MetricsPort), Protocol: pulumi.String("TCP")}},
		})
	}
	gitlab := anyAddressBut(nil, metadataCIDRs)
	if len(n.GitlabCIDRs) > 0 {
		gitlab = ipBlocks(n.GitlabCIDRs)
	}
	apiPorts := api.Ports.ToIntArrayOutput().ApplyT(func(ports []int) []networkingv1.NetworkPolicyPort {
		var out []networkingv1.NetworkPolicyPort
		for _, p := range ports {
			port, tcp := p, "TCP"
			out = append(out, networkingv1.NetworkPolicyPort{Port: port, Protocol: &tcp})
		}
		return out
	}).(networkingv1.NetworkPolicyPortArrayOutput)
	egress := networkingv1.NetworkPolicyEgressRuleArray{
		dnsEgress(),
		&networkingv1.NetworkPolicyEgressRuleArgs{To: ipBlocksOf(api.CIDRs), Ports: apiPorts},
		&networkingv1.NetworkPolicyEgressRuleArgs{To: gitlab, Ports: networkingv1.NetworkPolicyPortArray{
			&networkingv1.NetworkPolicyPortArgs{Port: pulumi.Int(urlPort(gitlabURL)), Protocol: pulumi.String("TCP")},
		}},
	}
	name := s.Name + "-manager"
	return &networkingv1.NetworkPolicyArgs{
		Metadata: objectMeta(s, name, namespace),
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(SelectorLabels(s))},
			PolicyTypes: pulumi.ToStringArray([]string{"Ingress", "Egress"}),
			Ingress:     ingress,
			Egress:      egress,
		},
	}
}

// dnsEgress allows DNS to any destination: cluster DNS runs at an address
// the policy cannot name in every cluster.
func dnsEgress() *networkingv1.NetworkPolicyEgressRuleArgs {
	return &networkingv1.NetworkPolicyEgressRuleArgs{Ports: networkingv1.NetworkPolicyPortArray{
		&networkingv1.NetworkPolicyPortArgs{Port: pulumi.Int(53), Protocol: pulumi.String("UDP")},
		&networkingv1.NetworkPolicyPortArgs{Port: pulumi.Int(53), Protocol: pulumi.String("TCP")},
	}}
}

// anyAddressBut is every IPv4 and IPv6 address except the given ranges
// (known now) and extra (known once the cluster is read).
func anyAddressBut(extra pulumi.StringArrayInput, except []string) networkingv1.NetworkPolicyPeerArrayInput {
	if extra == nil {
		extra = pulumi.StringArray{}
	}
	return extra.ToStringArrayOutput().ApplyT(func(more []string) []networkingv1.NetworkPolicyPeer {
		var v4, v6 []string
		for _, c := range append(append([]string{}, except...), more...) {
			if p, err := netip.ParsePrefix(c); err == nil && p.Addr().Is4() {
				v4 = append(v4, c)
			} else {
				v6 = append(v6, c)
			}
		}
		return []networkingv1.NetworkPolicyPeer{
			{IpBlock: &networkingv1.IPBlock{Cidr: "0.0.0.0/0", Except: sortedUnique(v4)}},
			{IpBlock: &networkingv1.IPBlock{Cidr: "::/0", Except: sortedUnique(v6)}},
		}
	}).(networkingv1.NetworkPolicyPeerArrayOutput)
}

func ipBlocks(cidrs []string) networkingv1.NetworkPolicyPeerArray {
	var out networkingv1.NetworkPolicyPeerArray
	for _, c := range sortedUnique(cidrs) {
		out = append(out, &networkingv1.NetworkPolicyPeerArgs{IpBlock: &networkingv1.IPBlockArgs{Cidr: pulumi.String(c)}})
	}
	return out
}

func ipBlocksOf(cidrs pulumi.StringArrayInput) networkingv1.NetworkPolicyPeerArrayOutput {
	return cidrs.ToStringArrayOutput().ApplyT(func(list []string) []networkingv1.NetworkPolicyPeer {
		var out []networkingv1.NetworkPolicyPeer
		for _, c := range sortedUnique(list) {
			out = append(out, networkingv1.NetworkPolicyPeer{IpBlock: &networkingv1.IPBlock{Cidr: c}})
		}
		return out
	}).(networkingv1.NetworkPolicyPeerArrayOutput)
}

// urlPort is the TCP port of an http(s) URL.
func urlPort(raw string) int {
	u, err := url.Parse(raw)
	if err != nil {
		return 443
	}
	if p, err := strconv.Atoi(u.Port()); err == nil {
		return p
	}
	if u.Scheme == "http" {
		return 80
	}
	return 443
}

package fleet

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

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// networkPolicies create what a job, and a manager, can reach
// (settings.NetworkSettings): the managers' NetworkPolicy, and for the fleet
// that plans the job namespace (StackPart.Jobs) the job namespace's.
func networkPolicies(b *build) (podPart, error) {
	s, args := b.s, b.args
	if !s.Network.PoliciesOn() {
		return podPart{}, nil
	}
	if args.APIServer.CIDRs == nil {
		return podPart{}, fmt.Errorf("fleet %q: NetworkPolicies need the API server's addresses (RunnerFleetArgs.APIServer)", s.Name)
	}
	if _, err := networkingv1.NewNetworkPolicy(b.ctx, s.Name+"-manager", managerPolicyArgs(s, b.namespace, args.GitlabURL, args.APIServer), b.parent); err != nil {
		return podPart{}, err
	}
	if j := args.Stack.Jobs; j != nil && j.Policies {
		if _, err := networkingv1.NewNetworkPolicy(b.ctx, s.Name+"-jobs", jobNamespacePolicyArgs(b.jobNamespace, *j, args.APIServer), b.parent); err != nil {
			return podPart{}, err
		}
	}
	return podPart{}, nil
}

func init() { addCapability("network", networkPolicies) }

// metadataCIDRs are the cloud instance metadata services (AWS, GCP, Azure,
// OpenStack share 169.254.169.254; AWS also fd00:ec2::254; Alibaba Cloud
// 100.100.100.200): they hand out the node's cloud credentials.
var metadataCIDRs = []string{"169.254.169.254/32", "100.100.100.200/32", "fd00:ec2::254/128"}

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
func jobNamespacePolicyArgs(jobNamespace pulumi.StringInput, j settings.JobNamespacePlan, api APIServer) *networkingv1.NetworkPolicyArgs {
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
func managerPolicyArgs(s settings.FleetSettings, namespace pulumi.StringInput, gitlabURL string, api APIServer) *networkingv1.NetworkPolicyArgs {
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
			Ports: networkingv1.NetworkPolicyPortArray{&networkingv1.NetworkPolicyPortArgs{Port: pulumi.Int(settings.MetricsPort), Protocol: pulumi.String("TCP")}},
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

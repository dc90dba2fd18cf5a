package fleet

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	discoveryv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/discovery/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/utilities"
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

// metadataCIDRs are what no job and no manager may reach: the link-local
// range as a whole (the cloud instance metadata services of AWS, GCP, Azure
// and OpenStack at 169.254.169.254, GKE's metadata server after the node's
// rewrite at 169.254.169.252, EKS Pod Identity at 169.254.170.23, ECS task
// credentials at 169.254.170.2, all hand out cloud credentials), IPv6
// link-local, AWS's IPv6 metadata address, Azure's WireServer and Alibaba
// Cloud's metadata service. A node-local DNS cache in the link-local range is
// allowed by a DNS rule of its own (network.nodeLocalDns).
var metadataCIDRs = []string{"169.254.0.0/16", "168.63.129.16/32", "100.100.100.200/32", "fe80::/10", "fd00:ec2::254/128"}

// APIServer is where the cluster's API server listens, for the policies.
type APIServer struct {
	// CIDRs are its addresses (/32 or /128 each).
	CIDRs pulumi.StringArrayInput
	// Ports are the ports it listens on.
	Ports pulumi.IntArrayInput
	// ServiceIPs are the `kubernetes` Service's cluster IPs (port 443):
	// whether a network plugin sees a connection to it before or after the
	// translation to CIDRs differs, so both are fenced. Nil: none known.
	ServiceIPs pulumi.StringArrayInput
}

// DiscoverAPIServer reads the API server's addresses from the cluster: the
// EndpointSlice of the `kubernetes` Service in `default`, which the API
// server keeps itself, and the Service's cluster IPs. The reads show in
// previews; they change nothing. Addresses read at `up` go stale when the
// control plane moves: the next `up` reads them again.
func DiscoverAPIServer(ctx *pulumi.Context, name string, opts ...pulumi.ResourceOption) (APIServer, error) {
	// The reads ask for the SDK's provider version, as its resources do, so
	// they use the same default provider.
	slice, err := discoveryv1.GetEndpointSlice(ctx, name, pulumi.ID("default/kubernetes"), nil, utilities.PkgResourceDefaultOpts(opts)...)
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
	serviceIPs, err := KubernetesServiceIPs(ctx, name, opts...)
	if err != nil {
		return APIServer{}, err
	}
	return APIServer{CIDRs: cidrs, Ports: ports, ServiceIPs: serviceIPs}, nil
}

// KubernetesServiceIPs reads the cluster IPs of the `kubernetes` Service in
// `default` (the API server's in-cluster address), as one-address ranges.
func KubernetesServiceIPs(ctx *pulumi.Context, name string, opts ...pulumi.ResourceOption) (pulumi.StringArrayOutput, error) {
	service, err := corev1.GetService(ctx, name, pulumi.ID("default/kubernetes"), nil, utilities.PkgResourceDefaultOpts(opts)...)
	if err != nil {
		return pulumi.StringArrayOutput{}, err
	}
	return service.Spec.ApplyT(func(spec corev1.ServiceSpec) []string {
		ips := spec.ClusterIPs
		if len(ips) == 0 && spec.ClusterIP != nil {
			ips = []string{*spec.ClusterIP}
		}
		var out []string
		for _, ip := range ips {
			if net.ParseIP(ip) != nil {
				out = append(out, hostCIDR(ip))
			}
		}
		return out
	}).(pulumi.StringArrayOutput), nil
}

// StaticAPIServer is an API server given by its addresses and port.
func StaticAPIServer(cidrs []string, port int) APIServer {
	return APIServer{CIDRs: pulumi.ToStringArray(cidrs), Ports: pulumi.ToIntArray([]int{port})}
}

// serviceIPs are the Service's cluster IPs, none when unknown.
func (a APIServer) serviceIPs() pulumi.StringArrayInput {
	if a.ServiceIPs == nil {
		return pulumi.StringArray{}
	}
	return a.ServiceIPs
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
// to any namespace but the managers' and its own, to addresses outside the
// cluster but the API server (its addresses and the `kubernetes` Service's)
// and the metadata services, and DNS to the cluster's DNS pods and the
// node-local cache; or, with network.jobEgressCidrs, only to those addresses
// and that DNS.
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
		apiAddresses := pulumi.All(api.CIDRs, api.serviceIPs()).ApplyT(func(all []any) []string {
			return append(append([]string{}, all[0].([]string)...), all[1].([]string)...)
		}).(pulumi.StringArrayOutput)
		egress = append(egress, &networkingv1.NetworkPolicyEgressRuleArgs{To: anyAddressBut(apiAddresses, append(append([]string{}, metadataCIDRs...), j.DeniedCIDRs...))})
		egress = append(egress, dnsEgress(j.DNS))
	} else {
		egress = append(egress, dnsEgress(j.DNS))
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

// kubernetesServicePort is the `kubernetes` Service's port.
const kubernetesServicePort = 443

// managerPolicyArgs is a fleet's managers' policy: metrics from
// network.metricsFrom only, the session server's port (when on) from
// manager.pod.sessionServer.allowFrom only; egress to the cluster's DNS, the
// API server (its addresses on its ports, the `kubernetes` Service's on 443)
// and GitLab's port (at network.gitlabCidrs, else anywhere but the metadata
// services).
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
	if ss := s.Manager.Pod.SessionServer; ss != nil {
		var from networkingv1.NetworkPolicyPeerArray
		if namespaces := sortedUnique(ss.AllowFrom.Namespaces); len(namespaces) > 0 {
			from = append(from, &networkingv1.NetworkPolicyPeerArgs{
				NamespaceSelector: &metav1.LabelSelectorArgs{MatchExpressions: metav1.LabelSelectorRequirementArray{
					&metav1.LabelSelectorRequirementArgs{Key: pulumi.String(namespaceNameLabel), Operator: pulumi.String("In"), Values: pulumi.ToStringArray(namespaces)},
				}},
			})
		}
		for _, cidr := range sortedUnique(ss.AllowFrom.CIDRs) {
			from = append(from, &networkingv1.NetworkPolicyPeerArgs{IpBlock: &networkingv1.IPBlockArgs{Cidr: pulumi.String(cidr)}})
		}
		ingress = append(ingress, &networkingv1.NetworkPolicyIngressRuleArgs{
			From:  from,
			Ports: networkingv1.NetworkPolicyPortArray{&networkingv1.NetworkPolicyPortArgs{Port: pulumi.Int(ss.Port), Protocol: pulumi.String("TCP")}},
		})
	}
	gitlab := anyAddressBut(nil, metadataCIDRs)
	if len(n.GitlabCIDRs) > 0 {
		gitlab = ipBlocks(n.GitlabCIDRs)
	}
	apiRules := pulumi.All(api.CIDRs, api.Ports, api.serviceIPs()).ApplyT(func(all []any) []networkingv1.NetworkPolicyEgressRule {
		return apiServerEgress(all[0].([]string), all[1].([]int), all[2].([]string))
	}).(networkingv1.NetworkPolicyEgressRuleArrayOutput)
	fixed := networkingv1.NetworkPolicyEgressRuleArray{
		dnsEgress(n.DNS()),
		&networkingv1.NetworkPolicyEgressRuleArgs{To: gitlab, Ports: networkingv1.NetworkPolicyPortArray{
			&networkingv1.NetworkPolicyPortArgs{Port: pulumi.Int(urlPort(gitlabURL)), Protocol: pulumi.String("TCP")},
		}},
	}.ToNetworkPolicyEgressRuleArrayOutput()
	egress := pulumi.All(fixed, apiRules).ApplyT(func(all []any) []networkingv1.NetworkPolicyEgressRule {
		rules := all[0].([]networkingv1.NetworkPolicyEgressRule)
		return append([]networkingv1.NetworkPolicyEgressRule{rules[0]}, append(all[1].([]networkingv1.NetworkPolicyEgressRule), rules[1:]...)...)
	}).(networkingv1.NetworkPolicyEgressRuleArrayOutput)
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

// apiServerEgress are the rules to the API server: its addresses on its
// ports, the `kubernetes` Service's addresses on 443. A rule without
// destinations would allow every destination, so a list that is empty
// gives no rule at all.
func apiServerEgress(cidrs []string, ports []int, serviceIPs []string) []networkingv1.NetworkPolicyEgressRule {
	tcp := "TCP"
	peers := func(list []string) []networkingv1.NetworkPolicyPeer {
		var out []networkingv1.NetworkPolicyPeer
		for _, c := range sortedUnique(list) {
			out = append(out, networkingv1.NetworkPolicyPeer{IpBlock: &networkingv1.IPBlock{Cidr: c}})
		}
		return out
	}
	var rules []networkingv1.NetworkPolicyEgressRule
	if len(cidrs) > 0 && len(ports) > 0 {
		var apiPorts []networkingv1.NetworkPolicyPort
		for _, p := range ports {
			apiPorts = append(apiPorts, networkingv1.NetworkPolicyPort{Port: p, Protocol: &tcp})
		}
		rules = append(rules, networkingv1.NetworkPolicyEgressRule{To: peers(cidrs), Ports: apiPorts})
	}
	if len(serviceIPs) > 0 {
		rules = append(rules, networkingv1.NetworkPolicyEgressRule{To: peers(serviceIPs),
			Ports: []networkingv1.NetworkPolicyPort{{Port: kubernetesServicePort, Protocol: &tcp}}})
	}
	return rules
}

// dnsEgress allows DNS to the cluster's DNS pods (by their namespace and
// labels: traffic to the DNS Service reaches them) and to the node-local
// cache's address when one is set; to nothing else, so DNS is no way out to
// an arbitrary server.
func dnsEgress(dns settings.DNSPlan) *networkingv1.NetworkPolicyEgressRuleArgs {
	to := networkingv1.NetworkPolicyPeerArray{&networkingv1.NetworkPolicyPeerArgs{
		NamespaceSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{namespaceNameLabel: pulumi.String(dns.Namespace)}},
		PodSelector:       &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(dns.PodLabels)},
	}}
	if dns.NodeLocal != "" {
		to = append(to, &networkingv1.NetworkPolicyPeerArgs{IpBlock: &networkingv1.IPBlockArgs{Cidr: pulumi.String(hostCIDR(dns.NodeLocal))}})
	}
	return &networkingv1.NetworkPolicyEgressRuleArgs{To: to, Ports: networkingv1.NetworkPolicyPortArray{
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

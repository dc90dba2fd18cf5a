package fleet_test

// What the fleet's NetworkPolicies allow, decided by the semantics of
// networking.k8s.io/v1 (as a network plugin applies them) on sample
// connections, rather than by reading the objects' fields one by one: a
// policy selects pods; for each direction it lists in policyTypes, a
// connection is allowed when some rule matches both its peer (a pod by its
// namespace's and its own labels, or an address outside the cluster by an
// ipBlock and its exceptions) and its port.

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/glrf/gitlab-runner-fleet/tests/mocks"
)

// endpoint is one end of a connection: a pod (namespace and labels) or,
// when namespace is empty, an address outside the cluster.
type endpoint struct {
	namespace string
	labels    map[string]string
	address   string
}

func pod(namespace string, podLabels map[string]string) endpoint {
	return endpoint{namespace: namespace, labels: podLabels}
}

func address(a string) endpoint { return endpoint{address: a} }

// policySet is the NetworkPolicies of a cluster.
type policySet []networkingv1.NetworkPolicy

// policiesOf decodes every NetworkPolicy the mocks recorded.
func policiesOf(t *testing.T, m *mocks.Mocks) policySet {
	t.Helper()
	var out policySet
	for _, r := range m.OfType(tNetworkPolicy) {
		var p networkingv1.NetworkPolicy
		decode(t, r, &p)
		out = append(out, p)
	}
	return out
}

// allows reports whether a connection from one endpoint to another, on a
// port and protocol, passes every policy that selects either end.
func (ps policySet) allows(t *testing.T, from, to endpoint, port int32, protocol string) bool {
	t.Helper()
	return ps.direction(t, from, to, port, protocol, networkingv1.PolicyTypeEgress) &&
		ps.direction(t, to, from, port, protocol, networkingv1.PolicyTypeIngress)
}

// direction decides one side: the policies selecting subject (a pod) with
// this policy type; none means allowed.
func (ps policySet) direction(t *testing.T, subject, peer endpoint, port int32, protocol string, typ networkingv1.PolicyType) bool {
	if subject.namespace == "" {
		return true // an address outside the cluster has no policies
	}
	selected := false
	for _, p := range ps {
		if p.Namespace != subject.namespace || !selects(t, &p.Spec.PodSelector, subject.labels) || !hasType(p, typ) {
			continue
		}
		selected = true
		if typ == networkingv1.PolicyTypeEgress {
			for _, r := range p.Spec.Egress {
				if peersMatch(t, r.To, peer) && portsMatch(r.Ports, port, protocol) {
					return true
				}
			}
		} else {
			for _, r := range p.Spec.Ingress {
				if peersMatch(t, r.From, peer) && portsMatch(r.Ports, port, protocol) {
					return true
				}
			}
		}
	}
	return !selected
}

// hasType follows the API's default: Ingress always, Egress when rules exist.
func hasType(p networkingv1.NetworkPolicy, typ networkingv1.PolicyType) bool {
	if len(p.Spec.PolicyTypes) == 0 {
		return typ == networkingv1.PolicyTypeIngress || len(p.Spec.Egress) > 0
	}
	for _, pt := range p.Spec.PolicyTypes {
		if pt == typ {
			return true
		}
	}
	return false
}

func selects(t *testing.T, s *metav1.LabelSelector, set map[string]string) bool {
	selector, err := metav1.LabelSelectorAsSelector(s)
	require.NoError(t, err)
	return selector.Matches(labels.Set(set))
}

// peersMatch: no peers match everything; else some peer matches.
func peersMatch(t *testing.T, peers []networkingv1.NetworkPolicyPeer, e endpoint) bool {
	if len(peers) == 0 {
		return true
	}
	for _, p := range peers {
		switch {
		case p.IPBlock != nil:
			if e.namespace == "" && inBlock(t, p.IPBlock, e.address) {
				return true
			}
		case e.namespace == "":
		case p.NamespaceSelector != nil:
			if selects(t, p.NamespaceSelector, map[string]string{"kubernetes.io/metadata.name": e.namespace}) &&
				(p.PodSelector == nil || selects(t, p.PodSelector, e.labels)) {
				return true
			}
		case p.PodSelector != nil:
			// A pod selector alone means the policy's own namespace; the
			// fleet's policies never use that form.
			t.Fatalf("a peer with a pod selector and no namespace selector: %+v", p)
		}
	}
	return false
}

func inBlock(t *testing.T, b *networkingv1.IPBlock, a string) bool {
	ip := netip.MustParseAddr(a)
	cidr, err := netip.ParsePrefix(b.CIDR)
	require.NoError(t, err)
	if !cidr.Contains(ip) {
		return false
	}
	for _, e := range b.Except {
		except, err := netip.ParsePrefix(e)
		require.NoError(t, err)
		require.True(t, cidr.Contains(except.Addr()) && except.Bits() >= cidr.Bits(), "exception %s lies within %s", e, b.CIDR)
		if except.Contains(ip) {
			return false
		}
	}
	return true
}

// portsMatch: no ports match every port; a port without protocol is TCP.
func portsMatch(ports []networkingv1.NetworkPolicyPort, port int32, protocol string) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		proto := "TCP"
		if p.Protocol != nil {
			proto = string(*p.Protocol)
		}
		if proto != protocol {
			continue
		}
		if p.Port == nil {
			return true
		}
		end := p.Port.IntVal
		if p.EndPort != nil {
			end = *p.EndPort
		}
		if port >= p.Port.IntVal && port <= end {
			return true
		}
	}
	return false
}

package podrunner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/vishvananda/netns"
	corev1 "k8s.io/api/core/v1"
)

// sandbox is what a pod's containers share, as the pause container holds
// it on a real node: the network namespace with the pod IP, and the
// forwarders that are its only way out.
type sandbox struct {
	fwd *forwarder
	// mu guards ns: dials inside hold it for reading, so that close never
	// closes the handle under them (its number could be another file's).
	mu sync.RWMutex
	ns netns.NsHandle
}

// kubernetesServicePort is the kubernetes Service's port.
const kubernetesServicePort = "443"

// newSandbox creates the pod's network namespace: lo with the pod IP and
// the kubernetes Service's address, the API server served at the latter,
// each forwarded host address at its own address.
func newSandbox(log *slog.Logger, cfg Config, podIP net.IP) (*sandbox, error) {
	addrs := []net.IP{podIP, net.ParseIP(cfg.ServiceIP)}
	for _, f := range cfg.Forwards {
		host, _, _ := net.SplitHostPort(f)
		ip := net.ParseIP(host)
		// 127.0.0.1 is on lo already; the rest must be added to listen.
		if !ip.IsLoopback() && !ip.Equal(podIP) && !ip.Equal(addrs[1]) {
			addrs = append(addrs, ip)
		}
	}
	ns, err := newNetns(addrs...)
	if err != nil {
		return nil, err
	}
	s := &sandbox{ns: ns, fwd: newForwarder(log)}
	if err := s.fwd.add(ns, net.JoinHostPort(cfg.ServiceIP, kubernetesServicePort), cfg.APIServer); err != nil {
		s.close()
		return nil, fmt.Errorf("serve the API server at %s:%s in the pod: %w", cfg.ServiceIP, kubernetesServicePort, err)
	}
	for _, f := range cfg.Forwards {
		if err := s.fwd.add(ns, f, f); err != nil {
			s.close()
			return nil, fmt.Errorf("serve %s in the pod: %w", f, err)
		}
	}
	return s, nil
}

// close ends the forwarders and lets the namespace go (once no process is
// left in it).
func (s *sandbox) close() {
	s.fwd.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ns.IsOpen() {
		s.ns.Close()
	}
	s.ns = netns.None()
}

// errSandboxGone is an action on a pod whose sandbox was removed.
var errSandboxGone = errors.New("the pod's network namespace is gone")

// in runs f with the pod's network namespace, which stays open meanwhile.
func (s *sandbox) in(f func(ns netns.NsHandle) error) error {
	if s == nil {
		return errSandboxGone
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.ns.IsOpen() {
		return errSandboxGone
	}
	return f(s.ns)
}

// dial connects to addr from inside the pod's network namespace.
func (s *sandbox) dial(ctx context.Context, addr string) (net.Conn, error) {
	var conn net.Conn
	err := s.in(func(ns netns.NsHandle) error {
		var err error
		conn, err = dialIn(ctx, ns, addr)
		return err
	})
	return conn, err
}

// writeHostsFile writes the pod's /etc/hosts, as the kubelet manages it.
func writeHostsFile(path string, pod *corev1.Pod, podIP net.IP) error {
	var b strings.Builder
	b.WriteString("# Kubernetes-managed hosts file (written by the local pod runner).\n")
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	b.WriteString("fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n")
	names := podHostname(pod)
	if sub := pod.Spec.Subdomain; sub != "" {
		names = podHostname(pod) + "." + sub + "." + pod.Namespace + ".svc.cluster.local\t" + podHostname(pod)
	}
	b.WriteString(podIP.String() + "\t" + names + "\n")
	for _, a := range pod.Spec.HostAliases {
		b.WriteString("\n# Entries added by HostAliases.\n")
		b.WriteString(a.IP + "\t" + strings.Join(a.Hostnames, "\t") + "\n")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

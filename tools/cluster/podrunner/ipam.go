package podrunner

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync"
)

// ipam hands out pod IPs from the runner's range (kwok takes its pods' IPs
// from another, so the two never collide). A pod keeps its IP across runner
// restarts: the runner marks the IPs of the pods it finds as taken first.
type ipam struct {
	mu    sync.Mutex
	first uint32 // network address
	size  uint32
	used  map[uint32]string // IP → pod UID
}

func newIPAM(cidr string) (*ipam, error) {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil, err
	}
	ip4 := n.IP.To4()
	if ip4 == nil {
		return nil, fmt.Errorf("%s: not IPv4", cidr)
	}
	ones, bits := n.Mask.Size()
	return &ipam{first: binary.BigEndian.Uint32(ip4), size: 1 << (bits - ones), used: map[uint32]string{}}, nil
}

func (a *ipam) toIP(v uint32) net.IP {
	ip := make(net.IP, 4)
	binary.BigEndian.PutUint32(ip, v)
	return ip
}

// inRange returns ip's number if it lies in the range.
func (a *ipam) inRange(ip net.IP) (uint32, bool) {
	ip4 := ip.To4()
	if ip4 == nil {
		return 0, false
	}
	v := binary.BigEndian.Uint32(ip4)
	return v, v >= a.first && v < a.first+a.size
}

// claim gives uid the IP it already has (from its status), when that is in
// the range and free; otherwise a new one.
func (a *ipam) claim(uid, current string) (net.IP, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ip := net.ParseIP(current); ip != nil {
		if v, ok := a.inRange(ip); ok {
			if owner, taken := a.used[v]; !taken || owner == uid {
				a.used[v] = uid
				return a.toIP(v), nil
			}
		}
	}
	for v, owner := range a.used {
		if owner == uid {
			return a.toIP(v), nil
		}
	}
	// Skip the network and broadcast addresses.
	for v := a.first + 1; v < a.first+a.size-1; v++ {
		if _, taken := a.used[v]; !taken {
			a.used[v] = uid
			return a.toIP(v), nil
		}
	}
	return nil, fmt.Errorf("no pod IP left in the runner's range (%d addresses)", a.size)
}

// release frees uid's IP.
func (a *ipam) release(uid string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for v, owner := range a.used {
		if owner == uid {
			delete(a.used, v)
		}
	}
}

package cluster

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// ephemeralPortRange is the range the kernel draws from on its own, for the
// local end of outgoing connections and for listeners on port 0
// (net.ipv4.ip_local_port_range; Linux's default when it cannot be read).
func ephemeralPortRange() (low, high int) {
	low, high = 32768, 60999
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return low, high
	}
	fields := strings.Fields(string(data))
	if len(fields) != 2 {
		return low, high
	}
	l, err1 := strconv.Atoi(fields[0])
	h, err2 := strconv.Atoi(fields[1])
	if err1 != nil || err2 != nil || l > h {
		return low, high
	}
	return l, h
}

// freePortFloor is the lowest port FreePorts picks: below it are the ports
// that services are usually configured with (this cluster's defaults too).
const freePortFloor = 20000

// FreePorts picks loopback ports for every component that are free now and
// that the kernel never hands out on its own: they lie outside the
// ephemeral range, so neither an outgoing connection (the apiserver has many
// to etcd) nor another program's listener on port 0 can take one between
// this check and the component's bind. Only a program that binds that very
// port can. When the ephemeral range leaves no room (it covers 20000-65535),
// the kernel picks the ports, and that guarantee does not hold.
func FreePorts() (Ports, error) {
	low, high := ephemeralPortRange()
	var spans []portSpan
	if low-1 >= freePortFloor {
		spans = append(spans, portSpan{freePortFloor, low - 1})
	}
	if from := max(high+1, freePortFloor); from <= 65535 {
		spans = append(spans, portSpan{from, 65535})
	}
	picked, err := pickPorts(spans, 7)
	if err != nil {
		return Ports{}, err
	}
	return Ports{
		EtcdClient:        picked[0],
		EtcdPeer:          picked[1],
		APIServer:         picked[2],
		ControllerManager: picked[3],
		Scheduler:         picked[4],
		Kwok:              picked[5],
		PodRunner:         picked[6],
	}, nil
}

// portSpan is the ports from..to, both included.
type portSpan struct{ from, to int }

// pickPorts returns n ports of spans that are free now: it walks through the
// spans from a random place, so that two callers seldom start at the same
// port. When the spans hold fewer than n free ports, the kernel picks the
// rest.
func pickPorts(spans []portSpan, n int) ([]int, error) {
	var ports []int
	for _, s := range spans {
		for p := s.from; p <= s.to; p++ {
			ports = append(ports, p)
		}
	}
	var picked []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	// Each port picked is held open until all are, so none is picked twice.
	hold := func(port int) bool {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			return false
		}
		listeners = append(listeners, l)
		picked = append(picked, l.Addr().(*net.TCPAddr).Port)
		return true
	}
	if len(ports) > 0 {
		start := rand.IntN(len(ports))
		for k := 0; k < len(ports) && len(picked) < n; k++ {
			hold(ports[(start+k)%len(ports)])
		}
	}
	for len(picked) < n {
		if !hold(0) {
			return nil, fmt.Errorf("no free loopback port (%d of %d picked)", len(picked), n)
		}
	}
	return picked, nil
}

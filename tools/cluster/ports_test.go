package cluster

import (
	"net"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func portList(p Ports) []int {
	return []int{p.EtcdClient, p.EtcdPeer, p.APIServer, p.ControllerManager, p.Scheduler, p.Kwok}
}

func TestFreePorts(t *testing.T) {
	low, high := ephemeralPortRange()
	require.Less(t, low, high)
	roomOutside := low > freePortFloor+100 || high < 65535-100
	for range 20 {
		p, err := FreePorts()
		require.NoError(t, err)
		cfg := Config{Dir: t.TempDir(), Ports: p}
		require.NoError(t, cfg.normalize(), "six distinct valid ports")
		assert.Equal(t, p, cfg.Ports)
		for _, port := range portList(p) {
			if roomOutside {
				assert.True(t, port < low || port > high,
					"port %d is outside the ephemeral range %d-%d", port, low, high)
				assert.GreaterOrEqual(t, port, freePortFloor)
			}
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
			require.NoError(t, err, "port %d is free once picked", port)
			l.Close()
		}
	}
}

// listen holds port open until the test ends; false when it is taken.
func listen(t *testing.T, port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	t.Cleanup(func() { l.Close() })
	return true
}

func TestPickPortsSkipsTakenPorts(t *testing.T) {
	// Ten ports in a row that are free now, outside the ephemeral range.
	base := 0
	for from := freePortFloor + 5000; from < freePortFloor+10000 && base == 0; from += 10 {
		free := true
		for p := from; p < from+10 && free; p++ {
			if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p))); err != nil {
				free = false
			} else {
				l.Close()
			}
		}
		if free {
			base = from
		}
	}
	require.NotZero(t, base, "ten free ports in a row")
	taken := []int{base, base + 3, base + 4, base + 9}
	for _, p := range taken {
		require.True(t, listen(t, p))
	}
	for range 20 {
		picked, err := pickPorts([]portSpan{{base, base + 9}}, 6)
		require.NoError(t, err)
		slices.Sort(picked)
		assert.Equal(t, []int{base + 1, base + 2, base + 5, base + 6, base + 7, base + 8}, picked,
			"exactly the six free ports of the span")
	}
	// Too few free ports in the span: the kernel picks the others.
	picked, err := pickPorts([]portSpan{{base, base + 4}}, 6)
	require.NoError(t, err)
	require.Len(t, picked, 6)
	assert.Subset(t, picked, []int{base + 1, base + 2})
	for _, p := range picked {
		assert.NotContains(t, taken, p)
	}
	assert.Len(t, slices.Compact(slices.Sorted(slices.Values(picked))), 6, "distinct")
}

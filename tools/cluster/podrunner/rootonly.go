package podrunner

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// The kubelet endpoints on the host (the pod runner's, and kwok's in its
// sandbox, exposed on the host) answer exec without asking who calls: kwok
// runs any exec it is asked for as root in its sandbox, since job-exec needs
// root to mount a pod's folders. Their callers are all root (the API server,
// the pod runner, `cluster start` and `cluster status`), so these listeners
// take connections from root's sockets only: another user of this machine
// cannot reach them.

// rootOnlyListener closes every accepted loopback TCP connection whose
// other end is not a socket of root's.
type rootOnlyListener struct{ net.Listener }

// rootOnly wraps l.
func rootOnly(l net.Listener) net.Listener { return rootOnlyListener{l} }

func (l rootOnlyListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		uid, err := peerUID(c)
		if err == nil && uid == 0 {
			return c, nil
		}
		c.Close()
	}
}

// peerUID is the owner of the socket at the other end of c, a loopback TCP
// connection of this network namespace, read from the kernel's socket table.
func peerUID(c net.Conn) (int, error) {
	local, ok1 := c.LocalAddr().(*net.TCPAddr)
	remote, ok2 := c.RemoteAddr().(*net.TCPAddr)
	if !ok1 || !ok2 || local.IP.To4() == nil || remote.IP.To4() == nil {
		return -1, fmt.Errorf("not an IPv4 TCP connection: %s", c.RemoteAddr())
	}
	// The table of this thread's network namespace: /proc/self/net shows
	// the main thread's, which a goroutine may have taken into a pod's
	// namespace for a moment (inNetns). A thread that is not locked to
	// such a goroutine is in this process's own namespace; locked, it
	// stays so while the table is read.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f, err := os.Open("/proc/thread-self/net/tcp")
	if err != nil {
		return -1, err
	}
	defer f.Close()
	// The caller's socket: its local address is our remote one, and back.
	want := procNetAddr(remote) + " " + procNetAddr(local)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 7 && fields[1]+" "+fields[2] == want {
			return strconv.Atoi(fields[7])
		}
	}
	if err := sc.Err(); err != nil {
		return -1, err
	}
	return -1, fmt.Errorf("no socket %s in the socket table", want)
}

// procNetAddr renders an IPv4 address and port as /proc/net/tcp does: the
// address as a 32-bit number in the machine's byte order, the port in hex.
func procNetAddr(a *net.TCPAddr) string {
	return fmt.Sprintf("%08X:%04X", binary.NativeEndian.Uint32(a.IP.To4()), a.Port)
}

package podrunner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// A network namespace is a property of a thread: a goroutine that enters
// one must stay on its thread (runtime.LockOSThread) until it has left it
// again. Sockets keep the namespace they were created in, so a listener
// opened inside a pod's namespace serves it from any goroutine, and a
// connection dialled from the host's namespace reaches the host.

// onThread runs f on a thread of its own. f returns whether the thread is
// still fit for other goroutines; if not (it entered a namespace it could
// not leave), the thread ends with the goroutine.
func onThread(f func() (clean bool, err error)) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		clean, err := f()
		if clean {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// inNetns runs f inside the network namespace ns, on a thread that leaves it
// afterwards.
func inNetns(ns netns.NsHandle, f func() error) error {
	return onThread(func() (bool, error) {
		host, err := netns.Get()
		if err != nil {
			return true, err
		}
		defer host.Close()
		if err := netns.Set(ns); err != nil {
			return true, fmt.Errorf("enter the pod's network namespace: %w", err)
		}
		ferr := f()
		if err := netns.Set(host); err != nil {
			return false, errors.Join(ferr, fmt.Errorf("leave the pod's network namespace: %w", err))
		}
		return true, ferr
	})
}

// newNetns creates a network namespace with its loopback interface up and
// the given addresses on it, and returns a handle that keeps it alive until
// closed (and no process is in it any more).
func newNetns(addrs ...net.IP) (netns.NsHandle, error) {
	ns := netns.None()
	err := onThread(func() (bool, error) {
		host, err := netns.Get()
		if err != nil {
			return true, err
		}
		defer host.Close()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return false, fmt.Errorf("create a network namespace: %w", err)
		}
		created, err := netns.Get()
		if err != nil {
			return false, err
		}
		ns = created
		if err := netns.Set(host); err != nil {
			return false, err
		}
		return true, nil
	})
	if err != nil {
		if ns.IsOpen() {
			ns.Close()
		}
		return netns.None(), err
	}
	if err := setupLoopback(ns, addrs); err != nil {
		ns.Close()
		return netns.None(), err
	}
	return ns, nil
}

// setupLoopback brings lo up in ns and gives it addrs (as /32 addresses).
func setupLoopback(ns netns.NsHandle, addrs []net.IP) error {
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netlink in the pod's namespace: %w", err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return err
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	for _, ip := range addrs {
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: ip, Mask: net.CIDRMask(32, 32)}}
		if err := h.AddrAdd(lo, addr); err != nil {
			return fmt.Errorf("add %s to lo: %w", ip, err)
		}
	}
	return nil
}

// listenIn opens a TCP listener on addr inside ns.
func listenIn(ns netns.NsHandle, addr string) (net.Listener, error) {
	var l net.Listener
	err := inNetns(ns, func() error {
		var err error
		l, err = net.Listen("tcp", addr)
		return err
	})
	return l, err
}

// dialIn connects to addr (an IP literal and port: no name lookup, whose
// goroutines would leave the namespace) from inside ns.
func dialIn(ctx context.Context, ns netns.NsHandle, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if net.ParseIP(host) == nil {
		return nil, fmt.Errorf("%s: not an IP address (pods here have no DNS)", host)
	}
	var conn net.Conn
	err = inNetns(ns, func() error {
		var d net.Dialer
		var err error
		conn, err = d.DialContext(ctx, "tcp", addr)
		return err
	})
	return conn, err
}

package podrunner

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/vishvananda/netns"
)

// forwarder serves host TCP addresses inside a pod's network namespace: it
// listens inside, and copies each connection to one it dials from the
// host's namespace. That is the only way out of the namespace, so a pod
// reaches exactly the API server and the forwarded addresses.
type forwarder struct {
	log       *slog.Logger
	mu        sync.Mutex
	closed    bool
	listeners []net.Listener
	conns     map[net.Conn]struct{}
	wg        sync.WaitGroup
}

func newForwarder(log *slog.Logger) *forwarder {
	return &forwarder{log: log, conns: map[net.Conn]struct{}{}}
}

// dialTimeout bounds a forwarded connection's dial on the host side.
const dialTimeout = 10 * time.Second

// add serves target at listen inside ns.
func (f *forwarder) add(ns netns.NsHandle, listen, target string) error {
	l, err := listenIn(ns, listen)
	if err != nil {
		return err
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		l.Close()
		return errors.New("forwarder closed")
	}
	f.listeners = append(f.listeners, l)
	f.wg.Add(1)
	f.mu.Unlock()
	go f.serve(l, target)
	return nil
}

func (f *forwarder) serve(l net.Listener, target string) {
	defer f.wg.Done()
	for {
		in, err := l.Accept()
		if err != nil {
			return
		}
		if !f.track(in) {
			in.Close()
			return
		}
		go f.pipe(in, target)
	}
}

// track records an open connection so Close can end it; false once closed.
func (f *forwarder) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *forwarder) untrack(c net.Conn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
	c.Close()
}

func (f *forwarder) pipe(in net.Conn, target string) {
	defer f.untrack(in)
	out, err := net.DialTimeout("tcp", target, dialTimeout)
	if err != nil {
		f.log.Warn("forward: dial failed", "target", target, "err", err)
		return
	}
	if !f.track(out) {
		out.Close()
		return
	}
	defer f.untrack(out)
	done := make(chan struct{}, 2)
	copyHalf := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		// Pass the end of one direction on, keep the other open.
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go copyHalf(out, in)
	go copyHalf(in, out)
	<-done
	<-done
}

// Close stops listening and ends every forwarded connection.
func (f *forwarder) Close() {
	f.mu.Lock()
	f.closed = true
	for _, l := range f.listeners {
		l.Close()
	}
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

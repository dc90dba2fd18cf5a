package podrunner

import (
	"context"
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
// reaches exactly the API server and the forwarded addresses. (It also
// serves the other way round: kwok's sandbox exposes kwok's port on the
// host.)
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
	return f.serveOn(l, func(context.Context) (net.Conn, error) {
		return net.DialTimeout("tcp", target, dialTimeout)
	})
}

// expose serves addr inside ns at the same address on the host, to root
// only (see rootOnly).
func (f *forwarder) expose(ns netns.NsHandle, addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return f.serveOn(rootOnly(l), func(ctx context.Context) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(ctx, dialTimeout)
		defer cancel()
		return dialIn(ctx, ns, addr)
	})
}

// serveOn copies each connection l accepts to one dial makes.
func (f *forwarder) serveOn(l net.Listener, dial func(context.Context) (net.Conn, error)) error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		l.Close()
		return errors.New("forwarder closed")
	}
	f.listeners = append(f.listeners, l)
	f.wg.Add(1)
	f.mu.Unlock()
	go f.serve(l, dial)
	return nil
}

func (f *forwarder) serve(l net.Listener, dial func(context.Context) (net.Conn, error)) {
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
		go f.pipe(in, dial)
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

func (f *forwarder) pipe(in net.Conn, dial func(context.Context) (net.Conn, error)) {
	defer f.untrack(in)
	out, err := dial(context.Background())
	if err != nil {
		f.log.Warn("forward: dial failed", "listen", in.LocalAddr().String(), "err", err)
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

package podrunner

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// A probe runs inside the pod's namespaces: httpGet and tcpSocket connect
// from its network namespace (to the pod IP unless the probe names a
// host), exec runs in the container. Success and failure are the
// kubelet's: HTTP 200-399, a connection, exit code 0.

// probeTimeout is a probe's timeoutSeconds (at least one second).
func probeTimeout(p *corev1.Probe) time.Duration {
	return time.Duration(max(p.TimeoutSeconds, 1)) * time.Second
}

// runProbe runs one probe once.
func (c *containerRuntime) runProbe(ctx context.Context, p *corev1.Probe, proc *process) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout(p))
	defer cancel()
	return c.runHandler(ctx, p.ProbeHandler, proc)
}

// runHandler runs a probe's or hook's action.
func (c *containerRuntime) runHandler(ctx context.Context, h corev1.ProbeHandler, proc *process) (bool, string) {
	switch {
	case h.HTTPGet != nil:
		return c.httpGet(ctx, h.HTTPGet)
	case h.TCPSocket != nil:
		addr, err := c.address(h.TCPSocket.Host, h.TCPSocket.Port)
		if err != nil {
			return false, err.Error()
		}
		conn, err := c.w.currentSandbox().dial(ctx, addr)
		if err != nil {
			return false, fmt.Sprintf("dial tcp %s: %v", addr, err)
		}
		conn.Close()
		return true, ""
	case h.Exec != nil:
		var out bytes.Buffer
		w := &limitedWriter{w: &out, n: 10 * 1024}
		code, err := c.w.r.execIn(ctx, execRequest{pid: proc.pid, id: c.identity(), argv: h.Exec.Command, stdout: w, stderr: w})
		if err != nil {
			if ctx.Err() != nil {
				return false, fmt.Sprintf("command %q timed out", strings.Join(h.Exec.Command, " "))
			}
			return false, err.Error()
		}
		if code != 0 {
			return false, fmt.Sprintf("command %q exited with %d: %s", strings.Join(h.Exec.Command, " "), code, strings.TrimSpace(out.String()))
		}
		return true, ""
	case h.GRPC != nil:
		return false, "gRPC probes are not supported by this pod runner"
	}
	return false, "no probe action"
}

// address is host:port of a probe: host defaults to the pod IP, a named
// port is looked up among the container's ports.
func (c *containerRuntime) address(host string, port intstr.IntOrString) (string, error) {
	if host == "" {
		host = c.w.podIP.String()
	}
	p := port.IntValue()
	if port.Type == intstr.String {
		p = 0
		for _, cp := range c.spec.Ports {
			if cp.Name == port.StrVal {
				p = int(cp.ContainerPort)
			}
		}
		if p == 0 {
			n, err := strconv.Atoi(port.StrVal)
			if err != nil {
				return "", fmt.Errorf("no container port named %q", port.StrVal)
			}
			p = n
		}
	}
	return net.JoinHostPort(host, strconv.Itoa(p)), nil
}

func (c *containerRuntime) httpGet(ctx context.Context, g *corev1.HTTPGetAction) (bool, string) {
	addr, err := c.address(g.Host, g.Port)
	if err != nil {
		return false, err.Error()
	}
	scheme := strings.ToLower(string(g.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	path := g.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u := &url.URL{Scheme: scheme, Host: addr}
	u, err = u.Parse(path)
	if err != nil {
		return false, err.Error()
	}
	sb := c.w.currentSandbox()
	client := &http.Client{
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
				return sb.dial(ctx, addr)
			},
			// The kubelet does not verify a probe's certificate either.
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // as the kubelet
			DisableKeepAlives: true,
		},
		// A redirect is a success, as with the kubelet for another host.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return false, err.Error()
	}
	req.Header.Set("User-Agent", "kube-probe/1.34")
	req.Header.Set("Accept", "*/*")
	for _, h := range g.HTTPHeaders {
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
			continue
		}
		req.Header.Add(h.Name, h.Value)
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, fmt.Sprintf("Get %q: %v", u.String(), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 10*1024))
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return true, ""
	}
	return false, fmt.Sprintf("HTTP probe failed with statuscode: %d %s", resp.StatusCode, strings.TrimSpace(string(body)))
}

// limitedWriter keeps the first n bytes; it may be shared by goroutines.
type limitedWriter struct {
	mu sync.Mutex
	w  io.Writer
	n  int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n > 0 {
		k := min(len(p), l.n)
		_, _ = l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

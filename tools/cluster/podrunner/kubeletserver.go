package podrunner

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	remotecommandconsts "k8s.io/apimachinery/pkg/util/remotecommand"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/kubelet/pkg/cri/streaming/portforward"
	remotecommandserver "k8s.io/kubelet/pkg/cri/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"
)

// The fake nodes' kubelet endpoint (the address the API server calls for
// exec, attach, logs and port-forward) is the runner's: it answers for the
// pods it runs, and hands every other request to kwok, which plays the
// other pods.

// Stream timeouts, the kubelet's defaults.
const (
	streamIdleTimeout     = 4 * time.Hour
	streamCreationTimeout = 30 * time.Second
)

// serveKubelet starts the kubelet endpoint.
func (r *Runner) serveKubelet() (*http.Server, error) {
	pair, err := tls.LoadX509KeyPair(r.cfg.TLSCert, r.cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("kubelet endpoint certificate: %w", err)
	}
	ca, err := os.ReadFile(r.cfg.CAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("no certificate in %s", r.cfg.CAFile)
	}
	kwok := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "https", Host: r.cfg.Kwok})
	kwok.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		select {
		case <-r.ready:
			fmt.Fprint(w, "ok")
		default:
			http.Error(w, "pods not watched yet", http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		if r.serveOwn(w, req) {
			return
		}
		if err := r.wrapJobExec(req); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		kwok.ServeHTTP(w, req)
	})
	l, err := net.Listen("tcp", r.cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("kubelet endpoint: %w", err)
	}
	l = rootOnly(l) // its callers: the API server and `cluster status`
	srv := &http.Server{
		Handler:           mux,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 30 * time.Second,
	}
	go func() {
		if err := srv.ServeTLS(l, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.log.Error("kubelet endpoint", "err", err)
		}
	}()
	return srv, nil
}

// serveOwn answers the requests about the pods the runner runs, and
// reports whether it did.
func (r *Runner) serveOwn(w http.ResponseWriter, req *http.Request) bool {
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	if len(parts) < 3 {
		return false
	}
	pw := r.worker(parts[1], parts[2])
	if pw == nil {
		return false
	}
	container := ""
	if len(parts) >= 4 {
		container = parts[len(parts)-1]
	}
	switch parts[0] {
	case "exec":
		opts, err := remotecommandserver.NewOptions(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return true
		}
		remotecommandserver.ServeExec(w, req, execAdapter{pw}, parts[2], "", container, req.URL.Query()["command"],
			opts, streamIdleTimeout, streamCreationTimeout, remotecommandconsts.SupportedStreamingProtocols)
	case "attach":
		http.Error(w, "attach is not supported by the local pod runner (containers have no stdin); use exec", http.StatusBadRequest)
	case "containerLogs":
		pw.serveLogs(w, req, container)
	case "portForward":
		opts, err := portforward.NewV4Options(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return true
		}
		portforward.ServePortForward(w, req, execAdapter{pw}, parts[2], "", opts, streamIdleTimeout, streamCreationTimeout, portforward.SupportedProtocols)
	default:
		return false
	}
	return true
}

// wrapJobExec turns an exec into a job container of a pod kwok plays into
// the job-exec command for it (see JobExecCommand); kwok runs that.
func (r *Runner) wrapJobExec(req *http.Request) error {
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	// exec/NAMESPACE/POD/CONTAINER or exec/NAMESPACE/POD/UID/CONTAINER
	if !r.cfg.JobExec.Enabled() || parts[0] != "exec" || len(parts) < 4 || len(parts) > 5 ||
		!slices.Contains(r.cfg.JobExec.Containers, parts[len(parts)-1]) {
		return nil
	}
	pod, err := r.cs.CoreV1().Pods(parts[1]).Get(req.Context(), parts[2], metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("exec into a job pod: read the pod: %w", err)
	}
	if len(parts) == 5 && string(pod.UID) != parts[3] {
		return fmt.Errorf("exec into a job pod: pod %s/%s is not %s", parts[1], parts[2], parts[3])
	}
	q := req.URL.Query()
	args, err := r.cfg.JobExec.jobExecArgs(pod, parts[len(parts)-1], q["command"])
	if err != nil {
		return fmt.Errorf("exec into a job pod: %w", err)
	}
	q["command"] = args
	req.URL.RawQuery = q.Encode()
	return nil
}

// execAdapter runs exec and port-forward requests for one pod.
type execAdapter struct{ w *podWorker }

// ExecInContainer runs cmd in the container (no TTY: the runner has none to
// give).
func (a execAdapter) ExecInContainer(ctx context.Context, _ string, _ types.UID, container string, cmd []string, in io.Reader, out, errOut io.WriteCloser, tty bool, _ <-chan remotecommand.TerminalSize, _ time.Duration) error {
	if tty {
		return errors.New("a TTY is not supported by the local pod runner: exec without -t")
	}
	c := a.w.container(container)
	if c == nil {
		return fmt.Errorf("container %q not found in pod %s", container, a.w.currentPod().Name)
	}
	c.mu.Lock()
	proc, plan := c.proc, c.plan
	c.mu.Unlock()
	if proc == nil || proc.exited() {
		return fmt.Errorf("container %q is not running", container)
	}
	var stdout, stderr io.Writer
	if out != nil {
		stdout = out
	}
	if errOut != nil {
		stderr = errOut
	}
	code, err := a.w.r.execIn(ctx, execRequest{pid: proc.pid, id: plan.id, argv: cmd, stdin: in, stdout: stdout, stderr: stderr})
	if err != nil {
		return err
	}
	if code != 0 {
		return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", code), Code: int(code)}
	}
	return nil
}

// PortForward connects stream to port on the pod's IP, from inside its
// network namespace.
func (a execAdapter) PortForward(ctx context.Context, _ string, _ types.UID, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	conn, err := a.w.currentSandbox().dial(ctx, net.JoinHostPort(a.w.podIP.String(), strconv.Itoa(int(port))))
	if err != nil {
		return err
	}
	defer conn.Close()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(conn, stream); done <- struct{}{} }()
	go func() { _, _ = io.Copy(stream, conn); done <- struct{}{} }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return nil
}

func (w *podWorker) container(name string) *containerRuntime {
	if name == "" && len(w.containers) == 1 {
		return w.containers[0]
	}
	for _, c := range w.containers {
		if c.spec.Name == name {
			return c
		}
	}
	return nil
}

// logFollowPoll is how often a followed log is read again.
const logFollowPoll = 200 * time.Millisecond

// serveLogs answers `kubectl logs` from the container's log files:
// previous, timestamps, tailLines, sinceSeconds, sinceTime, limitBytes and
// follow as the kubelet reads them.
func (w *podWorker) serveLogs(rw http.ResponseWriter, req *http.Request, name string) {
	c := w.container(name)
	if c == nil {
		http.Error(rw, fmt.Sprintf("container %q not found in pod %s", name, w.currentPod().Name), http.StatusNotFound)
		return
	}
	q := req.URL.Query()
	st := c.snapshot()
	run := st.RestartCount
	if q.Get("previous") == "true" {
		if run == 0 {
			http.Error(rw, fmt.Sprintf("previous terminated container %q in pod %q not found", name, w.currentPod().Name), http.StatusBadRequest)
			return
		}
		run--
	}
	pod := w.currentPod()
	path := containerLogPath(w.r.cfg.LogDir, pod.Namespace, pod.Name, string(pod.UID), name, run)
	f, err := os.Open(path)
	if err != nil {
		http.Error(rw, fmt.Sprintf("container %q in pod %q is waiting to start: no log yet", name, pod.Name), http.StatusBadRequest)
		return
	}
	defer f.Close()
	opts, err := parseLogOptions(q)
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	rw.Header().Set("Content-Type", "text/plain")
	out := &limitedWriter{w: rw, n: int(opts.limitBytes)}
	if opts.limitBytes <= 0 {
		out.n = int(^uint(0) >> 1)
	}
	flusher, _ := rw.(http.Flusher)
	lines := readLogLines(f, opts)
	for _, l := range lines {
		writeLogLine(out, l, opts.timestamps)
	}
	if flusher != nil {
		flusher.Flush()
	}
	if !opts.follow || q.Get("previous") == "true" {
		return
	}
	// Follow: read what is appended until this run of the container ends.
	reader := bufio.NewReader(f)
	var partial []byte
	for {
		line, err := reader.ReadBytes('\n')
		if len(line) > 0 && err == nil {
			if l, ok := parseLogLine(append(partial, line[:len(line)-1]...)); ok {
				writeLogLine(out, l, opts.timestamps)
				if flusher != nil {
					flusher.Flush()
				}
			}
			partial = nil
			continue
		}
		partial = append(partial, line...)
		if out.n <= 0 || !w.runActive(c, run) {
			return
		}
		select {
		case <-req.Context().Done():
			return
		case <-time.After(logFollowPoll):
		}
	}
}

// runActive reports whether run is the container's current run and its
// process is alive.
func (w *podWorker) runActive(c *containerRuntime, run int32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status.RestartCount == run && c.proc != nil && !c.proc.exited()
}

type logOptions struct {
	timestamps bool
	follow     bool
	tailLines  int64 // -1: all
	limitBytes int64
	since      time.Time
}

func parseLogOptions(q url.Values) (logOptions, error) {
	o := logOptions{timestamps: q.Get("timestamps") == "true", follow: q.Get("follow") == "true", tailLines: -1}
	var err error
	if v := q.Get("tailLines"); v != "" {
		if o.tailLines, err = strconv.ParseInt(v, 10, 64); err != nil {
			return o, fmt.Errorf("tailLines: %w", err)
		}
	}
	if v := q.Get("limitBytes"); v != "" {
		if o.limitBytes, err = strconv.ParseInt(v, 10, 64); err != nil {
			return o, fmt.Errorf("limitBytes: %w", err)
		}
	}
	if v := q.Get("sinceSeconds"); v != "" {
		s, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return o, fmt.Errorf("sinceSeconds: %w", err)
		}
		o.since = time.Now().Add(-time.Duration(s) * time.Second)
	}
	if v := q.Get("sinceTime"); v != "" {
		if o.since, err = time.Parse(time.RFC3339, v); err != nil {
			return o, fmt.Errorf("sinceTime: %w", err)
		}
	}
	return o, nil
}

// readLogLines reads the lines of f so far (joining cut ones), after the
// since time, the last tailLines of them. f is left at the end of the last
// complete line.
func readLogLines(f *os.File, o logOptions) []logLine {
	var lines []logLine
	var pending *logLine
	var offset int64
	br := bufio.NewReader(f)
	for {
		raw, err := br.ReadBytes('\n')
		if err != nil {
			break
		}
		offset += int64(len(raw))
		l, ok := parseLogLine(raw[:len(raw)-1])
		if !ok {
			continue
		}
		if pending != nil {
			pending.text = append(pending.text, l.text...)
			pending.full = l.full
			l = *pending
			pending = nil
		}
		if !l.full {
			cp := l
			cp.text = append([]byte(nil), l.text...)
			pending = &cp
			continue
		}
		if !o.since.IsZero() && l.time.Before(o.since) {
			continue
		}
		lines = append(lines, l)
	}
	_, _ = f.Seek(offset, io.SeekStart)
	if o.tailLines >= 0 && int64(len(lines)) > o.tailLines {
		lines = lines[int64(len(lines))-o.tailLines:]
	}
	return lines
}

func writeLogLine(w io.Writer, l logLine, timestamps bool) {
	if timestamps {
		fmt.Fprint(w, l.time.Format(time.RFC3339Nano)+" ")
	}
	_, _ = w.Write(l.text)
	if l.full {
		_, _ = w.Write([]byte("\n"))
	}
}

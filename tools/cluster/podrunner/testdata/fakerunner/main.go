// Command fakerunner stands for the gitlab-runner binary in the pod
// runner's tests: it reports, as JSON lines on stdout, what a container
// sees (PID, user, groups, environment, files, mounts, its ServiceAccount
// as the API server knows it) and how it is stopped, and serves /metrics on
// :9252 for the probes.
//
//	fakerunner run       the container's command
//	fakerunner prestop   the preStop hook: marks that it ran
//
// Settings (environment): FAKE_FILES, FAKE_STATFS (comma-separated paths to
// report), FAKE_FETCH (a URL to GET and report), FAKE_IGNORE_TERM=1 (never exit on SIGTERM), FAKE_RELEASE (a file
// whose creation lets it exit after SIGTERM), FAKE_UNREADY (a file whose
// existence makes /metrics answer 503).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// prestopMarker is what the preStop hook leaves for the main process.
const prestopMarker = "/tmp/fakerunner-prestop-ran"

func emit(event string, fields map[string]any) {
	if fields == nil {
		fields = map[string]any{}
	}
	fields["event"] = event
	data, _ := json.Marshal(fields)
	fmt.Println(string(data))
}

func main() {
	cmd := "run"
	if len(os.Args) > 1 {
		cmd = os.Args[1]
	}
	switch cmd {
	case "prestop":
		if err := os.WriteFile(prestopMarker, []byte("ran"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "run":
		run()
	default:
		fmt.Fprintln(os.Stderr, "unknown command", cmd)
		os.Exit(2)
	}
}

type fileReport struct {
	Content string `json:"content,omitempty"`
	Mode    string `json:"mode,omitempty"`
	UID     uint32 `json:"uid"`
	GID     uint32 `json:"gid"`
	Error   string `json:"error,omitempty"`
}

func list(name string) []string {
	var out []string
	for _, v := range strings.Split(os.Getenv(name), ",") {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

func run() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM)

	groups, _ := os.Getgroups()
	hostname, _ := os.Hostname()
	files := map[string]fileReport{}
	for _, p := range list("FAKE_FILES") {
		var r fileReport
		if st, err := os.Stat(p); err == nil {
			r.Mode = fmt.Sprintf("%#o", st.Mode().Perm())
			if sys, ok := st.Sys().(*syscall.Stat_t); ok {
				r.UID, r.GID = sys.Uid, sys.Gid
			}
		}
		data, err := os.ReadFile(p)
		if err != nil {
			r.Error = err.Error()
		} else {
			r.Content = string(data)
		}
		files[p] = r
	}
	statfs := map[string]any{}
	for _, p := range list("FAKE_STATFS") {
		var st syscall.Statfs_t
		if err := syscall.Statfs(p, &st); err != nil {
			statfs[p] = map[string]any{"error": err.Error()}
			continue
		}
		statfs[p] = map[string]any{"type": fmt.Sprintf("%#x", st.Type), "bytes": uint64(st.Blocks) * uint64(st.Bsize)}
	}
	env := map[string]string{}
	for _, e := range os.Environ() {
		k, v, _ := strings.Cut(e, "=")
		env[k] = v
	}
	emit("start", map[string]any{
		"pid": os.Getpid(), "uid": os.Getuid(), "gid": os.Getgid(), "groups": groups,
		"hostname": hostname, "env": env, "files": files, "statfs": statfs,
	})

	// The ServiceAccount as the API server sees it, through the in-cluster
	// configuration, as the runner's own client gets it.
	whoami := map[string]any{}
	if cfg, err := rest.InClusterConfig(); err != nil {
		whoami["error"] = err.Error()
	} else if cs, err := kubernetes.NewForConfig(cfg); err != nil {
		whoami["error"] = err.Error()
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		review, err := cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			whoami["error"] = err.Error()
		} else {
			whoami["user"] = review.Status.UserInfo.Username
			whoami["host"] = cfg.Host
		}
		_, err = cs.CoreV1().Secrets("kube-system").List(ctx, metav1.ListOptions{})
		if err != nil {
			whoami["listSecrets"] = err.Error()
		} else {
			whoami["listSecrets"] = "allowed"
		}
		cancel()
	}
	emit("whoami", whoami)

	if u := os.Getenv("FAKE_FETCH"); u != "" {
		fetch := map[string]any{"url": u}
		client := &http.Client{Timeout: 30 * time.Second}
		if resp, err := client.Get(u); err != nil {
			fetch["error"] = err.Error()
		} else {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			fetch["status"], fetch["body"] = resp.StatusCode, string(body)
		}
		emit("fetch", fetch)
	}

	unready := os.Getenv("FAKE_UNREADY")
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		if _, err := os.Stat(unready); unready != "" && err == nil {
			http.Error(w, "unready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "fakerunner_up 1")
	})
	srv := &http.Server{Addr: ":9252", Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		err := srv.ListenAndServe()
		if !errors.Is(err, http.ErrServerClosed) {
			emit("listen-failed", map[string]any{"error": err.Error()})
			os.Exit(3)
		}
	}()

	<-sigs
	_, err := os.Stat(prestopMarker)
	emit("sigterm", map[string]any{"prestopRan": err == nil})
	if os.Getenv("FAKE_IGNORE_TERM") == "1" {
		emit("ignoring-sigterm", nil)
		select {}
	}
	if release := os.Getenv("FAKE_RELEASE"); release != "" {
		for {
			if _, err := os.Stat(release); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	emit("exit", nil)
	os.Exit(0)
}

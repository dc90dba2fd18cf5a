// Command cluster starts, stops and inspects the local Kubernetes control
// plane with kwok fake nodes (see package cluster), and, with --run-pods,
// the pod runner that runs selected pods' containers for real (see package
// podrunner).
//
//	go run ./cmd/cluster [flags] start|stop|status|kubeconfig [flags]
//
// The same binary runs the pod runner, kwok's sandbox and the containers'
// init (subcommands pod-runner, sandbox and container-init, which `start`
// and the pod runner use; not meant to be typed).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/glrf/gitlab-runner-fleet/tools/cluster"
	"github.com/glrf/gitlab-runner-fleet/tools/cluster/podrunner"
)

const usage = `usage: cluster [flags] <start|stop|status|kubeconfig> [flags]

  start       start the control plane and kwok nodes (no-op when healthy)
  stop        stop every process of the cluster (--purge: delete its folder)
  status      show each component; exits 1 unless all are healthy
  kubeconfig  print the admin kubeconfig path

With --run-pods SELECTOR, start also runs the pod runner: the pods the
label selector matches get their containers run for real, as host
processes in namespaces of their own, each image mapped to a host folder of
binaries (--image); exec into job pods' build and helper containers runs
local processes in kwok's sandbox. It needs root. Pod runner settings not
given are those of the last start in the folder.

flags:
`

func main() {
	// The subcommands the cluster's own processes run.
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case podrunner.ContainerInitCommand:
			podrunner.RunContainerInit()
		case podrunner.RunCommand:
			os.Exit(runPodRunner(os.Args[2:]))
		case podrunner.SandboxCommand:
			os.Exit(runSandbox(os.Args[2:]))
		case podrunner.JobExecCommand:
			os.Exit(podrunner.RunJobExec(os.Args[2:], os.Stderr))
		}
	}
	os.Exit(run(os.Args[1:]))
}

// runPodRunner runs the pod runner until SIGTERM or SIGINT.
func runPodRunner(args []string) int {
	cfg, err := podrunner.ParseArgs(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pod-runner:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := podrunner.Run(ctx, cfg, log); err != nil {
		log.Error("pod runner failed", "err", err)
		return 1
	}
	return 0
}

// runSandbox runs kwok in its sandbox.
func runSandbox(args []string) int {
	cfg, err := podrunner.ParseSandboxArgs(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return podrunner.RunSandbox(cfg, os.Stderr)
}

// listFlag is a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// envList splits a comma-separated variable.
func envList(name string) listFlag {
	var l listFlag
	for _, v := range strings.Split(os.Getenv(name), ",") {
		if v = strings.TrimSpace(v); v != "" {
			l = append(l, v)
		}
	}
	return l
}

// invocation is a parsed command line.
type invocation struct {
	command string
	cfg     cluster.Config
	purge   bool
}

func run(args []string) int {
	inv, code := parse(args, os.Stderr)
	if code >= 0 {
		return code
	}
	return inv.do()
}

// parse reads the command line and the state of an earlier start; it
// returns an exit code >= 0 when there is nothing to run.
func parse(args []string, stderr io.Writer) (invocation, int) {
	def := cluster.DefaultConfig()
	cfg := def
	fset := flag.NewFlagSet("cluster", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() {
		fmt.Fprint(fset.Output(), usage)
		fset.PrintDefaults()
	}
	fset.StringVar(&cfg.Dir, "dir", envOr("GLRF_CLUSTER_DIR", defaultDir()), "state folder (certs, etcd data, logs, pids, kubeconfig); env GLRF_CLUSTER_DIR")
	fset.StringVar(&cfg.KubeBin, "kube-bin", def.KubeBin, "folder with etcd, kube-apiserver, kube-controller-manager, kube-scheduler; env GLRF_KUBE_BIN")
	fset.StringVar(&cfg.KwokBin, "kwok-bin", def.KwokBin, "kwok executable; env GLRF_KWOK_BIN")
	fset.StringVar(&cfg.KwokStages, "kwok-stages", def.KwokStages, "kwok's kustomize/stage folder; env GLRF_KWOK_STAGES")
	fset.IntVar(&cfg.Ports.EtcdClient, "etcd-port", def.Ports.EtcdClient, "etcd client port")
	fset.IntVar(&cfg.Ports.EtcdPeer, "etcd-peer-port", def.Ports.EtcdPeer, "etcd peer port")
	fset.IntVar(&cfg.Ports.APIServer, "apiserver-port", def.Ports.APIServer, "kube-apiserver secure port")
	fset.IntVar(&cfg.Ports.ControllerManager, "controller-manager-port", def.Ports.ControllerManager, "kube-controller-manager secure port")
	fset.IntVar(&cfg.Ports.Scheduler, "scheduler-port", def.Ports.Scheduler, "kube-scheduler secure port")
	fset.IntVar(&cfg.Ports.Kwok, "kwok-port", def.Ports.Kwok, "kwok server port (fake kubelet endpoint)")
	fset.IntVar(&cfg.Ports.PodRunner, "pod-runner-port", def.Ports.PodRunner, "pod runner port (the fake nodes' kubelet endpoint, with --run-pods)")
	fset.StringVar(&cfg.PodRunner.Selector, "run-pods", os.Getenv("GLRF_RUN_PODS"), "start: run the pods this label selector matches for real (e.g. "+cluster.RunnerManagerSelector+"); empty: kwok plays every pod; env GLRF_RUN_PODS")
	images, forwards := envList("GLRF_RUN_IMAGES"), envList("GLRF_POD_FORWARDS")
	fset.Var(&images, "image", "start: REPOSITORY=FOLDER, the host folder of binaries a container of that image gets on its PATH (repeatable); env GLRF_RUN_IMAGES (comma-separated); "+cluster.RunnerImageRepository+" defaults to $GLRF_RUNNER_BIN")
	fset.Var(&forwards, "pod-forward", "start: a host IP:port each run pod reaches at the same address (repeatable; e.g. the local GitLab, 127.0.0.1:18080); env GLRF_POD_FORWARDS (comma-separated)")
	fset.IntVar(&cfg.Nodes, "nodes", def.Nodes, "number of kwok fake nodes")
	fset.DurationVar(&cfg.Timeout, "timeout", def.Timeout, "how long start may take")
	fset.DurationVar(&cfg.StopGrace, "stop-grace", def.StopGrace, "how long stop waits after SIGTERM before SIGKILL")
	purge := fset.Bool("purge", false, "stop: also remove the state folder")
	freePorts := fset.Bool("free-ports", false, "start: listen on free ports picked outside the kernel's ephemeral port range rather than the default ones, unless the state folder has those of an earlier start (later commands read them from there)")

	// Flags may come before and after the command.
	if err := fset.Parse(args); err != nil {
		return invocation{}, 2
	}
	if fset.NArg() == 0 {
		fset.Usage()
		return invocation{}, 2
	}
	command := fset.Arg(0)
	if err := fset.Parse(fset.Args()[1:]); err != nil {
		return invocation{}, 2
	}
	if fset.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments: %v\n", fset.Args())
		return invocation{}, 2
	}
	switch command {
	case "start", "stop", "status", "kubeconfig":
	default:
		fmt.Fprintf(stderr, "unknown command %q\n", command)
		fset.Usage()
		return invocation{}, 2
	}

	// Ports and node count not given on the command line are those of the
	// last start in this folder, or, for a first start with --free-ports,
	// free ones.
	set := map[string]bool{}
	fset.Visit(func(f *flag.Flag) { set[f.Name] = true })
	ports := []struct {
		flag string
		dst  *int
		of   func(cluster.Ports) int
	}{
		{"etcd-port", &cfg.Ports.EtcdClient, func(p cluster.Ports) int { return p.EtcdClient }},
		{"etcd-peer-port", &cfg.Ports.EtcdPeer, func(p cluster.Ports) int { return p.EtcdPeer }},
		{"apiserver-port", &cfg.Ports.APIServer, func(p cluster.Ports) int { return p.APIServer }},
		{"controller-manager-port", &cfg.Ports.ControllerManager, func(p cluster.Ports) int { return p.ControllerManager }},
		{"scheduler-port", &cfg.Ports.Scheduler, func(p cluster.Ports) int { return p.Scheduler }},
		{"kwok-port", &cfg.Ports.Kwok, func(p cluster.Ports) int { return p.Kwok }},
		{"pod-runner-port", &cfg.Ports.PodRunner, func(p cluster.Ports) int { return p.PodRunner }},
	}
	useUnset := func(from cluster.Ports) {
		for _, p := range ports {
			if v := p.of(from); !set[p.flag] && v > 0 {
				*p.dst = v
			}
		}
	}
	// Pod runner settings given neither as flags nor in the environment are
	// those of the last start.
	given := func(flag, env string) bool { return set[flag] || os.Getenv(env) != "" }
	st, err := cluster.LoadState(cfg.Dir)
	switch {
	case err == nil:
		useUnset(st.Ports)
		if !set["nodes"] && st.Nodes > 0 {
			cfg.Nodes = st.Nodes
		}
		if !given("run-pods", "GLRF_RUN_PODS") {
			cfg.PodRunner.Selector = st.PodRunner.Selector
		}
		if !given("image", "GLRF_RUN_IMAGES") {
			for repo, dir := range st.PodRunner.Images {
				images = append(images, repo+"="+dir)
			}
		}
		if !given("pod-forward", "GLRF_POD_FORWARDS") {
			forwards = append(forwards, st.PodRunner.Forwards...)
		}
	case !errors.Is(err, fs.ErrNotExist):
		fmt.Fprintln(stderr, "warning:", err)
	case *freePorts && command == "start":
		// Only a program that binds one of these very ports can take it
		// before the cluster does, unlike ports the kernel picks, which
		// any outgoing connection may get.
		picked, err := cluster.FreePorts()
		if err != nil {
			fmt.Fprintln(stderr, "start:", err)
			return invocation{}, 1
		}
		useUnset(picked)
	}

	if cfg.PodRunner.Enabled() {
		if cfg.PodRunner.Images, err = podrunner.ParseImages(images); err != nil {
			fmt.Fprintln(stderr, err)
			return invocation{}, 2
		}
		if _, ok := cfg.PodRunner.Images[cluster.RunnerImageRepository]; !ok {
			if dir := runnerBinDir(); dir != "" {
				cfg.PodRunner.Images[cluster.RunnerImageRepository] = dir
			}
		}
		cfg.PodRunner.Forwards = slices.Compact(forwards)
		if cfg.ClusterBin, err = os.Executable(); err != nil {
			fmt.Fprintln(stderr, "the cluster binary's path:", err)
			return invocation{}, 1
		}
	}
	return invocation{command: command, cfg: cfg, purge: *purge}, -1
}

// runnerBinDir is the folder of $GLRF_RUNNER_BIN (a gitlab-runner binary,
// or the folder holding one).
func runnerBinDir() string {
	v := os.Getenv("GLRF_RUNNER_BIN")
	if v == "" {
		return ""
	}
	if st, err := os.Stat(v); err == nil && !st.IsDir() {
		return filepath.Dir(v)
	}
	return v
}

// do runs the command.
func (inv invocation) do() int {
	cfg, command := inv.cfg, inv.command
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch command {
	case "start":
		if err := cluster.Start(ctx, cfg, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "start:", err)
			return 1
		}
	case "stop":
		if err := cluster.Stop(cfg, os.Stdout, inv.purge); err != nil {
			fmt.Fprintln(os.Stderr, "stop:", err)
			return 1
		}
	case "status":
		report, err := cluster.Status(ctx, cfg)
		if err != nil {
			fmt.Fprintln(os.Stderr, "status:", err)
			return 1
		}
		report.Print(os.Stdout)
		if !report.Healthy() {
			return 1
		}
	case "kubeconfig":
		path, err := cluster.KubeconfigFile(cfg)
		if err != nil {
			fmt.Fprintln(os.Stderr, "kubeconfig:", err)
			return 1
		}
		fmt.Println(path)
	}
	return 0
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// defaultDir is .local/cluster in the repository around the working
// directory (the folder holding Pulumi.yaml), wherever the command runs from.
func defaultDir() string {
	dir, err := os.Getwd()
	if err != nil {
		return ".local/cluster"
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "Pulumi.yaml")); err == nil {
			return filepath.Join(d, ".local", "cluster")
		}
		if filepath.Dir(d) == d {
			return filepath.Join(dir, ".local", "cluster")
		}
	}
}

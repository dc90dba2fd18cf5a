// Command cluster starts, stops and inspects the local Kubernetes control
// plane with kwok fake nodes (see package cluster).
//
//	go run ./cmd/cluster [flags] start|stop|status|kubeconfig [flags]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"example.com/gitlab-runner-fleet/tools/cluster"
)

const usage = `usage: cluster [flags] <start|stop|status|kubeconfig> [flags]

  start       start the control plane and kwok nodes (no-op when healthy)
  stop        stop every process of the cluster (--purge: delete its folder)
  status      show each component; exits 1 unless all are healthy
  kubeconfig  print the admin kubeconfig path

flags:
`

func main() {
	os.Exit(run(os.Args[1:]))
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
	}
	useUnset := func(from cluster.Ports) {
		for _, p := range ports {
			if v := p.of(from); !set[p.flag] && v > 0 {
				*p.dst = v
			}
		}
	}
	st, err := cluster.LoadState(cfg.Dir)
	switch {
	case err == nil:
		useUnset(st.Ports)
		if !set["nodes"] && st.Nodes > 0 {
			cfg.Nodes = st.Nodes
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

	return invocation{command: command, cfg: cfg, purge: *purge}, -1
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

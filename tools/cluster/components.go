package cluster

import (
	"fmt"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/glrf/gitlab-runner-fleet/tools/cluster/podrunner"
)

// Component names, in start order.
const (
	Etcd              = "etcd"
	APIServer         = "kube-apiserver"
	ControllerManager = "kube-controller-manager"
	Scheduler         = "kube-scheduler"
	Kwok              = "kwok"
	// PodRunner runs the selected pods' containers for real (package
	// podrunner); it runs only when Config.PodRunner selects pods.
	PodRunner = "pod-runner"
)

// ComponentNames lists the components that always run, in start order.
func ComponentNames() []string {
	return []string{Etcd, APIServer, ControllerManager, Scheduler, Kwok}
}

// allComponentNames are every component that may run, in start order
// (stop goes backwards through them, whatever the configuration).
func allComponentNames() []string {
	return append(ComponentNames(), PodRunner)
}

// components are the components this configuration runs, in start order.
func (c *Config) components() []string {
	if c.PodRunner.Enabled() {
		return allComponentNames()
	}
	return ComponentNames()
}

// Ports are the loopback ports the control plane listens on.
type Ports struct {
	EtcdClient        int `json:"etcdClient"`
	EtcdPeer          int `json:"etcdPeer"`
	APIServer         int `json:"apiServer"`
	ControllerManager int `json:"controllerManager"`
	Scheduler         int `json:"scheduler"`
	Kwok              int `json:"kwok"`
	// PodRunner is the fake nodes' kubelet endpoint when the pod runner
	// runs (it hands kwok what is not its own).
	PodRunner int `json:"podRunner,omitempty"`
}

// DefaultPorts keeps clear of the usual ports (2379/2380, 6443, 10257,
// 10259, 10247) so the cluster can run next to a real one.
func DefaultPorts() Ports {
	return Ports{
		EtcdClient:        12379,
		EtcdPeer:          12380,
		APIServer:         16443,
		ControllerManager: 17257,
		Scheduler:         17259,
		Kwok:              17247,
		PodRunner:         17250,
	}
}

// Of returns the port of a component (the client port for etcd).
func (p Ports) Of(component string) int {
	switch component {
	case Etcd:
		return p.EtcdClient
	case APIServer:
		return p.APIServer
	case ControllerManager:
		return p.ControllerManager
	case Scheduler:
		return p.Scheduler
	case Kwok:
		return p.Kwok
	case PodRunner:
		return p.PodRunner
	}
	return 0
}

// KwokStageDirs are the kustomize folders and files, relative to
// Config.KwokStages (sigs.k8s.io/kwok's kustomize/stage), that kwok loads:
// nodes become Ready at once and keep a Lease, pods go Running at once and
// are removed at once once deleted. A pod that must drain before it goes (a
// runner manager finishing its jobs) is run for real by the pod runner,
// which removes it only when its process has exited.
var KwokStageDirs = []string{"node/fast", "node/heartbeat-with-lease",
	"pod/fast/pod-ready.yaml", "pod/fast/pod-complete.yaml", "pod/fast/pod-delete.yaml"}

// KwokNodeAnnotation marks the Nodes kwok manages (and only those).
const (
	KwokNodeAnnotation      = "kwok.x-k8s.io/node"
	KwokNodeAnnotationValue = "fake"
)

// ServiceAccountIssuer is the issuer of service-account tokens.
const ServiceAccountIssuer = "https://kubernetes.default.svc.cluster.local"

// AdmissionPlugins are enabled on top of kube-apiserver's defaults; PodSecurity
// (on by default since 1.25) is named so that it cannot silently go away.
var AdmissionPlugins = "NamespaceLifecycle,LimitRanger,ServiceAccount,NodeRestriction," +
	"DefaultTolerationSeconds,Priority,PodSecurity,ResourceQuota," +
	"MutatingAdmissionWebhook,ValidatingAdmissionWebhook"

// Controllers run by kube-controller-manager: the default set, minus the
// cloud-provider ones (there is no cloud).
var Controllers = "*,-cloud-node-lifecycle-controller,-service-lb-controller,-node-route-controller"

// Paths of the files under the state folder.
func (c *Config) pki() PKI                  { return PKI{Dir: filepath.Join(c.Dir, "pki")} }
func (c *Config) etcdDataDir() string       { return filepath.Join(c.Dir, "etcd") }
func (c *Config) kwokHome() string          { return filepath.Join(c.Dir, "kwok") }
func (c *Config) runDir(name string) string { return filepath.Join(c.Dir, "run", name) }

// KubeconfigPath is the admin kubeconfig.
func (c *Config) KubeconfigPath() string { return filepath.Join(c.Dir, "kubeconfig") }

// componentKubeconfig is the kubeconfig a component talks to the apiserver with.
func (c *Config) componentKubeconfig(name string) string {
	return filepath.Join(c.Dir, "kubeconfigs", name+".kubeconfig")
}

func loopbackURL(scheme string, port int) string {
	return scheme + "://127.0.0.1:" + strconv.Itoa(port)
}

// Binary returns the executable of a component.
func (c *Config) Binary(name string) string {
	switch name {
	case Kwok:
		return c.KwokBin
	case PodRunner:
		return c.ClusterBin
	}
	return filepath.Join(c.KubeBin, name)
}

// Command is a component's whole command line: its binary and Args, or,
// with the pod runner, kwok inside its sandbox and the pod runner as a
// subcommand of the cluster binary.
func (c *Config) Command(name string) []string {
	switch {
	case name == PodRunner:
		return append([]string{c.ClusterBin, podrunner.RunCommand}, c.Args(name)...)
	case name == Kwok && c.PodRunner.Enabled():
		sb := c.kwokSandbox()
		return append([]string{c.ClusterBin, podrunner.SandboxCommand}, sb.Args()...)
	}
	return append([]string{c.Binary(name)}, c.Args(name)...)
}

// Args renders the command-line flags of a component.
func (c *Config) Args(name string) []string {
	p, pki := c.Ports, c.pki()
	switch name {
	case Etcd:
		client, peer := loopbackURL("http", p.EtcdClient), loopbackURL("http", p.EtcdPeer)
		return []string{
			"--name=glrf-local",
			"--data-dir=" + c.etcdDataDir(),
			"--listen-client-urls=" + client,
			"--advertise-client-urls=" + client,
			"--listen-peer-urls=" + peer,
			"--initial-advertise-peer-urls=" + peer,
			"--initial-cluster=glrf-local=" + peer,
			"--initial-cluster-state=new",
			"--auto-compaction-mode=periodic",
			"--auto-compaction-retention=1h",
		}
	case APIServer:
		return append([]string{
			"--advertise-address=127.0.0.1",
			"--bind-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(p.APIServer),
			"--tls-cert-file=" + pki.CertFile(CertAPIServer),
			"--tls-private-key-file=" + pki.KeyFile(CertAPIServer),
			"--client-ca-file=" + pki.CertFile(CertCA),
			"--etcd-servers=" + loopbackURL("http", p.EtcdClient),
			"--service-cluster-ip-range=" + ServiceClusterIPRange,
			"--service-account-issuer=" + ServiceAccountIssuer,
			"--service-account-key-file=" + pki.ServiceAccountPublicKeyFile(),
			"--service-account-signing-key-file=" + pki.ServiceAccountPrivateKeyFile(),
			"--authorization-mode=Node,RBAC",
			// Front proxy (aggregation layer). The requestheader CA is the
			// cluster CA, restricted to the front-proxy-client name.
			"--requestheader-client-ca-file=" + pki.CertFile(CertCA),
			"--requestheader-allowed-names=front-proxy-client",
			"--requestheader-username-headers=X-Remote-User",
			"--requestheader-group-headers=X-Remote-Group",
			"--requestheader-extra-headers-prefix=X-Remote-Extra-",
			"--proxy-client-cert-file=" + pki.CertFile(CertFrontProxyClient),
			"--proxy-client-key-file=" + pki.KeyFile(CertFrontProxyClient),
			"--enable-admission-plugins=" + AdmissionPlugins,
			// Privileged pods are allowed by the apiserver itself; namespaces
			// restrict them with Pod Security labels.
			"--allow-privileged=true",
			// The advertise address is loopback, which an Endpoints object
			// may not hold: do not maintain the kubernetes Service endpoints.
			"--endpoint-reconciler-type=none",
			"--cert-dir=" + c.runDir(APIServer),
			"--profiling=false",
			// Secrets are encrypted before they reach etcd (encryption.go).
			"--encryption-provider-config=" + c.EncryptionConfigFile(),
		}, c.auditArgs()...)
	case ControllerManager:
		kc := c.componentKubeconfig(ControllerManager)
		return []string{
			"--kubeconfig=" + kc,
			"--authentication-kubeconfig=" + kc,
			"--authorization-kubeconfig=" + kc,
			"--bind-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(p.ControllerManager),
			"--tls-cert-file=" + pki.CertFile(CertControllerManagerServing),
			"--tls-private-key-file=" + pki.KeyFile(CertControllerManagerServing),
			"--cert-dir=" + c.runDir(ControllerManager),
			"--leader-elect=false",
			"--use-service-account-credentials=true",
			"--service-account-private-key-file=" + pki.ServiceAccountPrivateKeyFile(),
			"--root-ca-file=" + pki.CertFile(CertCA),
			"--cluster-signing-cert-file=" + pki.CertFile(CertCA),
			"--cluster-signing-key-file=" + pki.KeyFile(CertCA),
			"--service-cluster-ip-range=" + ServiceClusterIPRange,
			"--controllers=" + Controllers,
			"--profiling=false",
		}
	case Scheduler:
		kc := c.componentKubeconfig(Scheduler)
		return []string{
			"--kubeconfig=" + kc,
			"--authentication-kubeconfig=" + kc,
			"--authorization-kubeconfig=" + kc,
			"--bind-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(p.Scheduler),
			"--tls-cert-file=" + pki.CertFile(CertSchedulerServing),
			"--tls-private-key-file=" + pki.KeyFile(CertSchedulerServing),
			"--cert-dir=" + c.runDir(Scheduler),
			"--leader-elect=false",
			"--profiling=false",
		}
	case Kwok:
		args := []string{"--kubeconfig=" + c.componentKubeconfig(Kwok)}
		for _, d := range KwokStageDirs {
			// kwok reads a folder given to --config as a kustomization.
			args = append(args, "--config="+filepath.Join(c.KwokStages, d))
		}
		// Fake nodes report this address and port as their kubelet, so the
		// apiserver's kubelet calls (logs, exec) reach kwok, or the pod
		// runner, which hands kwok what is not its own.
		nodePort := p.Kwok
		if c.PodRunner.Enabled() {
			nodePort = p.PodRunner
			args = append(args,
				"--config="+c.kwokJobExec(),
				// The pods the runner runs are its own: no stage of kwok's
				// (ready, complete, delete) touches them.
				"--disregard-status-with-label-selector="+c.PodRunner.Selector,
			)
		}
		return append(args,
			"--manage-all-nodes=false",
			"--manage-nodes-with-annotation-selector="+KwokNodeAnnotation+"="+KwokNodeAnnotationValue,
			"--server-address=127.0.0.1:"+strconv.Itoa(p.Kwok),
			"--node-ip=127.0.0.1",
			"--node-port="+strconv.Itoa(nodePort),
			"--tls-cert-file="+pki.CertFile(CertKwokServing),
			"--tls-private-key-file="+pki.KeyFile(CertKwokServing),
			"--cidr="+KwokPodCIDR,
			"--node-lease-duration-seconds=40",
		)
	case PodRunner:
		return c.podRunnerConfig().Args()
	}
	panic(fmt.Sprintf("unknown component %q", name))
}

// Env returns the variables added to a component's environment.
func (c *Config) Env(name string) []string {
	if name == Kwok {
		// kwok also loads ~/.kwok/kwok.yaml when it exists; a HOME of its own
		// keeps a developer's kwokctl settings out of this cluster.
		return []string{"HOME=" + c.kwokHome()}
	}
	return nil
}

// healthURL is what a component answers "ok" on once it is ready.
func (c *Config) healthURL(name string) string {
	p := c.Ports
	switch name {
	case Etcd:
		return loopbackURL("http", p.EtcdClient) + "/health"
	case APIServer:
		return loopbackURL("https", p.APIServer) + "/readyz"
	case ControllerManager:
		return loopbackURL("https", p.ControllerManager) + "/healthz"
	case Scheduler:
		return loopbackURL("https", p.Scheduler) + "/healthz"
	case Kwok:
		return loopbackURL("https", p.Kwok) + "/healthz"
	case PodRunner:
		return loopbackURL("https", p.PodRunner) + "/healthz"
	}
	return ""
}

func (c *Config) process(name string) process {
	p := process{
		name:    name,
		argv:    c.Command(name),
		env:     c.Env(name),
		dir:     c.Dir,
		workDir: c.Dir,
	}
	if name == PodRunner || (name == Kwok && c.PodRunner.Enabled()) {
		// PID 1 of a PID namespace with a mount namespace of its own: its
		// processes and mounts end with it, whatever ends it.
		p.cloneflags = syscall.CLONE_NEWPID | syscall.CLONE_NEWNS
	}
	return p
}

// ports lists each component's listening ports, for the free-port check.
func (c *Config) ports(name string) []int {
	if name == Etcd {
		return []int{c.Ports.EtcdClient, c.Ports.EtcdPeer}
	}
	return []int{c.Ports.Of(name)}
}

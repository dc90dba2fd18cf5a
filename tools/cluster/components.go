package cluster

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Component names, in start order.
const (
	Etcd              = "etcd"
	APIServer         = "kube-apiserver"
	ControllerManager = "kube-controller-manager"
	Scheduler         = "kube-scheduler"
	Kwok              = "kwok"
)

// ComponentNames lists the components in start order (stop goes backwards).
func ComponentNames() []string {
	return []string{Etcd, APIServer, ControllerManager, Scheduler, Kwok}
}

// Ports are the loopback ports the control plane listens on.
type Ports struct {
	EtcdClient        int `json:"etcdClient"`
	EtcdPeer          int `json:"etcdPeer"`
	APIServer         int `json:"apiServer"`
	ControllerManager int `json:"controllerManager"`
	Scheduler         int `json:"scheduler"`
	Kwok              int `json:"kwok"`
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
	}
	return 0
}

// KwokStageDirs are the kustomize folders and files, relative to
// Config.KwokStages (sigs.k8s.io/kwok's kustomize/stage), that kwok loads:
// nodes become Ready at once and keep a Lease, pods go Running at once. Pod
// deletion is this package's own stage (stages/pod-delete-after-drain.yaml,
// written to Config.Dir): kwok's fast one would remove a draining pod at once.
var KwokStageDirs = []string{"node/fast", "node/heartbeat-with-lease", "pod/fast/pod-ready.yaml", "pod/fast/pod-complete.yaml"}

// PodDeleteDelayAnnotation delays a local pod's removal after its deletion by
// a duration ("60s"), up to the end of its grace period at most, as a process
// that drains before it stops would.
const PodDeleteDelayAnnotation = "pod-delete.stage.kwok.x-k8s.io/delay"

//go:embed stages/pod-delete-after-drain.yaml
var podDeleteStage []byte

// kwokOwnStages is where the package's own stage file is written.
func (c *Config) kwokOwnStages() string {
	return filepath.Join(c.Dir, "kwok-pod-delete-after-drain.yaml")
}

// writeKwokStages writes the package's own stage file for kwok.
func (c *Config) writeKwokStages() error {
	return os.WriteFile(c.kwokOwnStages(), podDeleteStage, 0o644)
}

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
	if name == Kwok {
		return c.KwokBin
	}
	return filepath.Join(c.KubeBin, name)
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
		return []string{
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
		}
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
		args = append(args, "--config="+c.kwokOwnStages())
		return append(args,
			"--manage-all-nodes=false",
			"--manage-nodes-with-annotation-selector="+KwokNodeAnnotation+"="+KwokNodeAnnotationValue,
			"--server-address=127.0.0.1:"+strconv.Itoa(p.Kwok),
			// Fake nodes report this address and port as their kubelet, so
			// the apiserver's kubelet calls (logs, exec) reach kwok.
			"--node-ip=127.0.0.1",
			"--node-port="+strconv.Itoa(p.Kwok),
			"--tls-cert-file="+pki.CertFile(CertKwokServing),
			"--tls-private-key-file="+pki.KeyFile(CertKwokServing),
			"--cidr="+PodCIDR,
			"--node-lease-duration-seconds=40",
		)
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
	}
	return ""
}

func (c *Config) process(name string) process {
	return process{
		name:    name,
		dir:     c.Dir,
		binary:  c.Binary(name),
		args:    c.Args(name),
		env:     c.Env(name),
		workDir: c.Dir,
	}
}

// ports lists each component's listening ports, for the free-port check.
func (c *Config) ports(name string) []int {
	if name == Etcd {
		return []int{c.Ports.EtcdClient, c.Ports.EtcdPeer}
	}
	return []int{c.Ports.Of(name)}
}

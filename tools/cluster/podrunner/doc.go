// Package podrunner is a small kubelet for selected pods of the local
// cluster: the pods whose labels match a selector and that are bound to one
// of the cluster's kwok nodes get their containers run for real, as host
// processes, while kwok plays every other pod.
//
// Each pod gets what a real node gives it, built from the API as the kubelet
// builds it:
//
//   - a network namespace of its own, with the pod IP on its loopback
//     interface, the API server served at the kubernetes Service's address
//     (10.0.0.1:443) and chosen host addresses (the local GitLab) served at
//     the same address inside, by TCP forwarders this process opens in the
//     namespace and that dial out from the host's;
//   - per container, a PID namespace (the container's command is PID 1), a
//     mount namespace whose root is the host's root under a tmpfs-backed
//     overlay (writes are private and vanish with the container), its own
//     /proc, a minimal /dev, the pod's volumes at their mount paths, the
//     image's binaries (a host folder mapped from the image repository)
//     on PATH, and a UTS namespace with the pod's hostname;
//   - its environment (values, Secret, ConfigMap, field and resource
//     references, envFrom, service links, $(VAR) expansion), its user and
//     groups (runAsUser, runAsGroup, fsGroup, supplementalGroups);
//   - its volumes (configMap, secret, emptyDir as tmpfs, downwardAPI,
//     projected with a bound ServiceAccount token from the TokenRequest API,
//     refreshed before it expires), written the kubelet's atomic way;
//   - startup, liveness and readiness probes (httpGet, tcpSocket, exec) run
//     inside the pod's namespaces, restarts with back-off, and the pod's
//     status (conditions, container statuses, IPs) written to the API;
//   - deletion as the kubelet does it: the preStop hook, SIGTERM to PID 1,
//     SIGKILL at the end of the grace period, and the pod removed only once
//     its processes are gone.
//
// The runner is meant to be PID 1 of its own PID namespace and to have a
// mount namespace of its own (`cluster start` starts it so): every process
// it starts lives in a PID namespace nested in its own, so when it dies,
// for whatever reason, the kernel kills them all, and its mounts (volumes
// and secrets live on a tmpfs) vanish with it.
//
// It also serves the fake nodes' kubelet endpoint: exec and logs of the
// pods it runs are its own, every other request goes to kwok, and an exec
// into a job pod's build or helper container goes to kwok wrapped in the
// cluster binary's job-exec (JobExecCommand), which gives the command its
// pod's own folders and the jobs' network namespace.
//
// What it is not: no container images (a host folder stands for one), no
// isolation beyond the namespaces above (containers share the host's kernel
// and see its files, read-only, where permissions allow), no cgroups or
// resource limits, no seccomp or AppArmor, no NetworkPolicies, no DNS.
package podrunner

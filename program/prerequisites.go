package program

import (
	"context"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// checkPrerequisites checks what fleets take from the cluster before
// anything is created: the existing objects settings name (an existing token or cache Secret, a
// CA bundle's Secret, pull Secrets, ConfigMaps, Secrets and PVCs of job
// volumes; settings.FleetSettings.References), and the Prometheus
// Operator's kinds when a fleet asks for a PodMonitor or ServiceMonitor. A
// missing one is an error that names the setting, rather than a pod that
// never starts. An object in a namespace the stack has not created yet
// cannot exist: that is a warning (the pods wait for it). So is a cluster
// that cannot be reached: the other clusters' fleets go on.
func (o Options) checkPrerequisites(ctx *pulumi.Context, stack *Stack, targets map[string]clusterTarget) error {
	var ps settings.Problems
	clients := map[string]kubernetes.Interface{}
	for i, plan := range stack.Plans {
		s := plan.Settings
		path := settings.FleetPath(i, s.Name)
		refs := s.References(path)
		if len(refs) == 0 && s.Manager.Monitoring.Kind == "" {
			continue
		}
		client, ok := clients[s.Cluster]
		if !ok {
			c, err := o.Kube(targets[s.Cluster].access)
			if err == nil {
				_, err = c.Discovery().ServerVersion()
			}
			if err != nil {
				// An unreachable cluster must not stop the other clusters'
				// fleets: its own resources fail with the provider's error.
				_ = ctx.Log.Warn(fmt.Sprintf("%s: cannot reach its cluster to check the objects it names: %s", path, redact(err.Error(), targets[s.Cluster].secrets)), nil)
				clients[s.Cluster] = nil
				continue
			}
			client, clients[s.Cluster] = c, c
		}
		if client == nil {
			continue // unreachable, warned above
		}
		for _, r := range refs {
			if p, warn := checkReference(client, r); p != nil {
				if warn {
					_ = ctx.Log.Warn(fmt.Sprintf("%s: %s (its namespace does not exist yet; the pods wait for it)", p.Path, p.Message), nil)
				} else {
					ps = append(ps, *p)
				}
			}
		}
		if kind := s.Manager.Monitoring.Kind; kind != "" {
			if p := checkKind(client, settings.MonitoringGroupVersion, kind); p != "" {
				ps.Add(path+".manager.monitoring.kind", "%s", p)
			}
		}
	}
	return ps.Err()
}

// checkReference reports a missing object; warn is set when its namespace
// does not exist yet either.
func checkReference(client kubernetes.Interface, r settings.Reference) (*settings.Problem, bool) {
	ctx := context.Background()
	var data map[string]bool
	var err error
	switch r.Kind {
	case "Secret":
		s, e := client.CoreV1().Secrets(r.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
		err = e
		if e == nil {
			data = keysOf(s.Data, s.StringData)
		}
	case "ConfigMap":
		c, e := client.CoreV1().ConfigMaps(r.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
		err = e
		if e == nil {
			data = keysOf(nil, c.Data)
			for k := range c.BinaryData {
				data[k] = true
			}
		}
	case "PersistentVolumeClaim":
		_, err = client.CoreV1().PersistentVolumeClaims(r.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
	default:
		return &settings.Problem{Path: r.Path, Message: "names an object of an unknown kind " + r.Kind}, false
	}
	if err != nil {
		if apierrors.IsNotFound(err) {
			if _, nsErr := client.CoreV1().Namespaces().Get(ctx, r.Namespace, metav1.GetOptions{}); apierrors.IsNotFound(nsErr) {
				p := settings.ReferenceProblem(r, err)
				return &p, true
			}
		}
		p := settings.ReferenceProblem(r, err)
		return &p, false
	}
	if r.Key != "" && data != nil && !data[r.Key] {
		return &settings.Problem{Path: r.Path, Message: fmt.Sprintf("names %s, which has no key %q; name the right key", r, r.Key)}, false
	}
	return nil, false
}

func keysOf(binary map[string][]byte, text map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range binary {
		out[k] = true
	}
	for k := range text {
		out[k] = true
	}
	return out
}

// checkKind reports, as a message, when the cluster does not serve kind.
func checkKind(client kubernetes.Interface, groupVersion, kind string) string {
	list, err := client.Discovery().ServerResourcesForGroupVersion(groupVersion)
	if err == nil {
		for _, r := range list.APIResources {
			if r.Kind == kind {
				return ""
			}
		}
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Sprintf("asks for a %s, but the cluster's API cannot be read to check for it: %v", kind, err)
	}
	return fmt.Sprintf("asks for a %s, but the cluster does not serve %s %s: install the Prometheus Operator's CRDs first, or leave monitoring out", kind, groupVersion, kind)
}

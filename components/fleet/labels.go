package fleet

import (
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// Labels returns the app.kubernetes.io labels of a fleet's objects.
func Labels(s settings.FleetSettings) map[string]string {
	labels := SelectorLabels(s)
	labels["app.kubernetes.io/component"] = "runner-manager"
	labels["app.kubernetes.io/part-of"] = "gitlab-runner-fleet"
	labels["app.kubernetes.io/managed-by"] = "pulumi"
	return labels
}

// workloadLabels add the runner's version to Labels. Only the StatefulSet and
// its pods carry it, so an image bump changes nothing but the workload.
func workloadLabels(s settings.FleetSettings) map[string]string {
	labels := Labels(s)
	if v := settings.ImageTag(s.Manager.Image); v != "" {
		labels["app.kubernetes.io/version"] = v
	}
	return labels
}

// SelectorLabels select a fleet's manager pods; they never change over the
// fleet's life, as a StatefulSet's selector is immutable.
func SelectorLabels(s settings.FleetSettings) map[string]string {
	return map[string]string{
		"app.kubernetes.io/name":     "gitlab-runner",
		"app.kubernetes.io/instance": s.Name,
	}
}

func objectMeta(s settings.FleetSettings, name string, namespace pulumi.StringInput) *metav1.ObjectMetaArgs {
	return &metav1.ObjectMetaArgs{
		Name:      pulumi.String(name),
		Namespace: namespace,
		Labels:    pulumi.ToStringMap(Labels(s)),
	}
}

// autoNamedMeta leaves the name to Pulumi (<logical name>-<suffix>): a change
// of content then creates the new object before the StatefulSet switches to it
// and deletes the old one, so running pods never lose their mounts.
func autoNamedMeta(s settings.FleetSettings, namespace pulumi.StringInput) *metav1.ObjectMetaArgs {
	return &metav1.ObjectMetaArgs{Namespace: namespace, Labels: pulumi.ToStringMap(Labels(s))}
}

package fleet

import (
	"maps"
	"slices"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// podVolumes mounts the volumes of manager.pod.volumes in the manager
// container: an existing ConfigMap, Secret or PVC of the managers'
// namespace, or an emptyDir. Kinds that reach the node (hostPath) are not
// settings at all; the restricted Pod Security level of the managers'
// namespace would refuse them anyway. Each pod volume is extra-<name>, so
// it never collides with the fleet's own.
func podVolumes(b *build) (podPart, error) {
	volumes := map[string]mountedVolume{}
	for _, v := range b.s.Manager.Pod.Volumes {
		name := "extra-" + v.Name
		volume := &corev1.VolumeArgs{Name: pulumi.String(name)}
		switch {
		case v.ConfigMap != "":
			volume.ConfigMap = &corev1.ConfigMapVolumeSourceArgs{Name: pulumi.String(v.ConfigMap), Items: keysToPaths(v.Items)}
		case v.Secret != "":
			volume.Secret = &corev1.SecretVolumeSourceArgs{SecretName: pulumi.String(v.Secret), Items: keysToPaths(v.Items)}
		case v.PVC != "":
			volume.PersistentVolumeClaim = &corev1.PersistentVolumeClaimVolumeSourceArgs{ClaimName: pulumi.String(v.PVC), ReadOnly: pulumi.Bool(v.ReadOnly)}
		case v.EmptyDir != nil:
			volume.EmptyDir = emptyDir(*v.EmptyDir)
		}
		mount := volumeMount(name, v.MountPath, v.ReadOnly)
		if v.SubPath != "" {
			mount.SubPath = pulumi.String(v.SubPath)
		}
		volumes[name] = mountedVolume{Volume: volume, Mount: mount}
	}
	return podPart{Volumes: volumes}, nil
}

// keysToPaths is a volume's items, in key order (nil: every key).
func keysToPaths(items map[string]string) corev1.KeyToPathArray {
	var out corev1.KeyToPathArray
	for _, key := range slices.Sorted(maps.Keys(items)) {
		out = append(out, &corev1.KeyToPathArgs{Key: pulumi.String(key), Path: pulumi.String(items[key])})
	}
	return out
}

func emptyDir(d settings.EmptyDirSource) *corev1.EmptyDirVolumeSourceArgs {
	out := &corev1.EmptyDirVolumeSourceArgs{}
	if d.Medium != "" {
		out.Medium = pulumi.String(d.Medium)
	}
	if d.SizeLimit != "" {
		out.SizeLimit = pulumi.String(d.SizeLimit)
	}
	return out
}

func init() { addCapability("podvolumes", podVolumes) }

package runnerconfig

import (
	corev1 "k8s.io/api/core/v1"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"
)

// jobVolumes are a job pod's volumes and every container's mounts, as the
// runner's getVolumes and getVolumeMounts make them: the configured volumes
// by kind (host paths, Secrets, PVCs once per name, ConfigMaps, emptyDirs,
// CSI, NFS), then "repo" for the builds directory, "scripts" (attach
// strategy or dumb-init) and "logs" (attach strategy). The mounts put the
// scripts and logs first and the builds directory last.
func jobVolumes(v *KubernetesVolumes, paths jobPathSet, legacy, dumbInit bool) ([]corev1.Volume, []corev1.VolumeMount) {
	if v == nil {
		v = &KubernetesVolumes{}
	}
	var volumes []corev1.Volume
	var mounts []corev1.VolumeMount
	if dumbInit || !legacy {
		mounts = append(mounts, corev1.VolumeMount{Name: "scripts", MountPath: paths.scripts})
	}
	if !legacy {
		mounts = append(mounts, corev1.VolumeMount{Name: "logs", MountPath: paths.logs})
	}
	add := func(volume corev1.Volume) { volumes = append(volumes, volume) }
	mount := func(name, path, subPath string, readOnly bool, propagation string) {
		m := corev1.VolumeMount{Name: name, MountPath: path, SubPath: subPath, ReadOnly: readOnly}
		if propagation != "" {
			p := corev1.MountPropagationMode(propagation)
			m.MountPropagation = &p
		}
		mounts = append(mounts, m)
	}
	for _, h := range v.HostPaths {
		path := h.HostPath
		if path == "" {
			path = h.MountPath
		}
		add(corev1.Volume{Name: h.Name, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path}}})
		mount(h.Name, h.MountPath, h.SubPath, h.ReadOnly, h.MountPropagation)
	}
	for _, s := range v.Secrets {
		add(corev1.Volume{Name: s.Name, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: s.Name, Items: keyToPaths(s.Items)}}})
		mount(s.Name, s.MountPath, s.SubPath, s.ReadOnly, "")
	}
	claims := map[string]bool{}
	for _, c := range v.PVCs {
		if !claims[c.Name] {
			add(corev1.Volume{Name: c.Name, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c.Name}}})
			claims[c.Name] = true
		}
		mount(c.Name, c.MountPath, c.SubPath, c.ReadOnly, c.MountPropagation)
	}
	for _, c := range v.ConfigMaps {
		add(corev1.Volume{Name: c.Name, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: c.Name}, Items: keyToPaths(c.Items)}}})
		mount(c.Name, c.MountPath, c.SubPath, c.ReadOnly, "")
	}
	for _, e := range v.EmptyDirs {
		source := &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMedium(e.Medium)}
		if q, err := k8sresource.ParseQuantity(e.SizeLimit); err == nil {
			source.SizeLimit = &q
		}
		add(corev1.Volume{Name: e.Name, VolumeSource: corev1.VolumeSource{EmptyDir: source}})
		mount(e.Name, e.MountPath, e.SubPath, false, e.MountPropagation)
	}
	for _, c := range v.CSIs {
		fsType, readOnly := c.FSType, c.ReadOnly
		add(corev1.Volume{Name: c.Name, VolumeSource: corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{
			Driver: c.Driver, FSType: &fsType, ReadOnly: &readOnly, VolumeAttributes: c.VolumeAttributes}}})
		mount(c.Name, c.MountPath, c.SubPath, c.ReadOnly, "")
	}
	for _, n := range v.NFS {
		add(corev1.Volume{Name: n.Name, VolumeSource: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: n.Server, Path: n.Path, ReadOnly: n.ReadOnly}}})
		mount(n.Name, n.MountPath, n.SubPath, n.ReadOnly, "")
	}
	// The builds directory gets its own emptyDir unless a volume is mounted there.
	buildsVolume := true
	for _, m := range mounts {
		if m.MountPath == paths.builds {
			buildsVolume = false
		}
	}
	if buildsVolume {
		add(emptyDirVolume("repo"))
		mounts = append(mounts, corev1.VolumeMount{Name: "repo", MountPath: paths.builds})
	}
	if dumbInit || !legacy {
		add(emptyDirVolume("scripts"))
	}
	if !legacy {
		add(emptyDirVolume("logs"))
	}
	return volumes, mounts
}

// keyToPaths are a volume's items (the runner lists them in its map's
// order; the model sorts them by key).
func keyToPaths(items map[string]string) []corev1.KeyToPath {
	var out []corev1.KeyToPath
	for _, key := range sortedKeys(items) {
		out = append(out, corev1.KeyToPath{Key: key, Path: items[key]})
	}
	return out
}

func emptyDirVolume(name string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
}

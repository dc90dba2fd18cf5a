package runnerconfig

import (
	"github.com/glrf/gitlab-runner-fleet/components/runnerversion"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// KubernetesVolumes is [runners.kubernetes.volumes].
type KubernetesVolumes struct {
	ConfigMaps []VolumeConfigMap `toml:"config_map,omitempty" runner:"KubernetesVolumes"`
	Secrets    []VolumeSecret    `toml:"secret,omitempty" runner:"KubernetesVolumes"`
	PVCs       []VolumePVC       `toml:"pvc,omitempty" runner:"KubernetesVolumes"`
	EmptyDirs  []VolumeEmptyDir  `toml:"empty_dir,omitempty" runner:"KubernetesVolumes"`
	HostPaths  []VolumeHostPath  `toml:"host_path,omitempty" runner:"KubernetesVolumes"`
	CSIs       []VolumeCSI       `toml:"csi,omitempty" runner:"KubernetesVolumes"`
	NFS        []VolumeNFS       `toml:"nfs,omitempty" runner:"KubernetesVolumes" fleet:"extra"`
}

// VolumeConfigMap is one [[runners.kubernetes.volumes.config_map]].
type VolumeConfigMap struct {
	Name      string            `toml:"name" runner:"KubernetesConfigMap"`
	MountPath string            `toml:"mount_path" runner:"KubernetesConfigMap"`
	SubPath   string            `toml:"sub_path,omitempty" runner:"KubernetesConfigMap"`
	ReadOnly  bool              `toml:"read_only,omitempty" runner:"KubernetesConfigMap"`
	Items     map[string]string `toml:"items,omitempty" runner:"KubernetesConfigMap"`
}

// VolumeSecret is one [[runners.kubernetes.volumes.secret]].
type VolumeSecret struct {
	Name      string            `toml:"name" runner:"KubernetesSecret"`
	MountPath string            `toml:"mount_path" runner:"KubernetesSecret"`
	SubPath   string            `toml:"sub_path,omitempty" runner:"KubernetesSecret"`
	ReadOnly  bool              `toml:"read_only,omitempty" runner:"KubernetesSecret"`
	Items     map[string]string `toml:"items,omitempty" runner:"KubernetesSecret"`
}

// VolumePVC is one [[runners.kubernetes.volumes.pvc]].
type VolumePVC struct {
	Name      string `toml:"name" runner:"KubernetesPVC"`
	MountPath string `toml:"mount_path" runner:"KubernetesPVC"`
	SubPath   string `toml:"sub_path,omitempty" runner:"KubernetesPVC"`
	ReadOnly  bool   `toml:"read_only,omitempty" runner:"KubernetesPVC"`
	// MountPropagation is the mount's propagation mode (mountPropagation).
	MountPropagation string `toml:"mount_propagation,omitempty" runner:"KubernetesPVC"`
}

// VolumeEmptyDir is one [[runners.kubernetes.volumes.empty_dir]].
type VolumeEmptyDir struct {
	Name      string `toml:"name" runner:"KubernetesEmptyDir"`
	MountPath string `toml:"mount_path" runner:"KubernetesEmptyDir"`
	SubPath   string `toml:"sub_path,omitempty" runner:"KubernetesEmptyDir"`
	Medium    string `toml:"medium,omitempty" runner:"KubernetesEmptyDir"`
	SizeLimit string `toml:"size_limit,omitempty" runner:"KubernetesEmptyDir"`
	// MountPropagation is the mount's propagation mode (mountPropagation).
	MountPropagation string `toml:"mount_propagation,omitempty" runner:"KubernetesEmptyDir"`
}

// VolumeHostPath is one [[runners.kubernetes.volumes.host_path]].
type VolumeHostPath struct {
	Name      string `toml:"name" runner:"KubernetesHostPath"`
	MountPath string `toml:"mount_path" runner:"KubernetesHostPath"`
	SubPath   string `toml:"sub_path,omitempty" runner:"KubernetesHostPath"`
	ReadOnly  bool   `toml:"read_only,omitempty" runner:"KubernetesHostPath"`
	HostPath  string `toml:"host_path" runner:"KubernetesHostPath"`
	// MountPropagation is the mount's propagation mode (mountPropagation).
	MountPropagation string `toml:"mount_propagation,omitempty" runner:"KubernetesHostPath"`
}

// VolumeCSI is one [[runners.kubernetes.volumes.csi]].
type VolumeCSI struct {
	Name             string            `toml:"name" runner:"KubernetesCSI"`
	MountPath        string            `toml:"mount_path" runner:"KubernetesCSI"`
	SubPath          string            `toml:"sub_path,omitempty" runner:"KubernetesCSI"`
	ReadOnly         bool              `toml:"read_only,omitempty" runner:"KubernetesCSI"`
	Driver           string            `toml:"driver" runner:"KubernetesCSI"`
	FSType           string            `toml:"fs_type,omitempty" runner:"KubernetesCSI"`
	VolumeAttributes map[string]string `toml:"volume_attributes,omitempty" runner:"KubernetesCSI"`
}

// VolumeNFS is one [[runners.kubernetes.volumes.nfs]] (runner 19.0+).
type VolumeNFS struct {
	Name      string `toml:"name" runner:"KubernetesNFS"`
	MountPath string `toml:"mount_path" runner:"KubernetesNFS"`
	SubPath   string `toml:"sub_path,omitempty" runner:"KubernetesNFS"`
	ReadOnly  bool   `toml:"read_only,omitempty" runner:"KubernetesNFS"`
	Server    string `toml:"server" runner:"KubernetesNFS"`
	Path      string `toml:"path" runner:"KubernetesNFS"`
}

// mountPropagation is the propagation rendered on every host path, PVC and
// emptyDir mount of a release that has the key: Kubernetes' default, None,
// said explicitly. GitLab Runner v19.3.0's `lint` checks config.toml
// against a JSON schema of its config types in which mount_propagation has
// no JSON name and no omitempty: left out, it is null, which the schema's
// string type refuses (the 19.4 pre-release the lab builds names it and
// omits it, so its `lint` does not show this).
const mountPropagation = "None"

// kubernetesVolumes renders the volumes as release v reads them.
func kubernetesVolumes(volumes []settings.JobVolume, v runnerversion.Version) *KubernetesVolumes {
	if len(volumes) == 0 {
		return nil
	}
	propagation := func(owner string) string {
		if ok, _ := runnerversion.KeyAvailable(owner, "mount_propagation", v); ok {
			return mountPropagation
		}
		return ""
	}
	out := &KubernetesVolumes{}
	for _, v := range volumes {
		switch {
		case v.ConfigMap != "":
			out.ConfigMaps = append(out.ConfigMaps, VolumeConfigMap{Name: v.ConfigMap, MountPath: v.MountPath, SubPath: v.SubPath, ReadOnly: v.ReadOnly, Items: v.Items})
		case v.Secret != "":
			out.Secrets = append(out.Secrets, VolumeSecret{Name: v.Secret, MountPath: v.MountPath, SubPath: v.SubPath, ReadOnly: v.ReadOnly, Items: v.Items})
		case v.PVC != "":
			out.PVCs = append(out.PVCs, VolumePVC{Name: v.PVC, MountPath: v.MountPath, SubPath: v.SubPath, ReadOnly: v.ReadOnly,
				MountPropagation: propagation("KubernetesPVC")})
		case v.EmptyDir != nil:
			out.EmptyDirs = append(out.EmptyDirs, VolumeEmptyDir{Name: v.Name, MountPath: v.MountPath, SubPath: v.SubPath, Medium: v.EmptyDir.Medium, SizeLimit: v.EmptyDir.SizeLimit,
				MountPropagation: propagation("KubernetesEmptyDir")})
		case v.HostPath != "":
			out.HostPaths = append(out.HostPaths, VolumeHostPath{Name: v.Name, MountPath: v.MountPath, SubPath: v.SubPath, ReadOnly: v.ReadOnly, HostPath: v.HostPath,
				MountPropagation: propagation("KubernetesHostPath")})
		case v.CSI != nil:
			out.CSIs = append(out.CSIs, VolumeCSI{Name: v.Name, MountPath: v.MountPath, SubPath: v.SubPath, ReadOnly: v.ReadOnly,
				Driver: v.CSI.Driver, FSType: v.CSI.FSType, VolumeAttributes: v.CSI.VolumeAttributes})
		}
	}
	return out
}

package runnerconfig

import "github.com/glrf/gitlab-runner-fleet/components/settings"

// KubernetesVolumes is [runners.kubernetes.volumes].
type KubernetesVolumes struct {
	ConfigMaps []VolumeConfigMap `toml:"config_map,omitempty" runner:"KubernetesVolumes"`
	Secrets    []VolumeSecret    `toml:"secret,omitempty" runner:"KubernetesVolumes"`
	PVCs       []VolumePVC       `toml:"pvc,omitempty" runner:"KubernetesVolumes"`
	EmptyDirs  []VolumeEmptyDir  `toml:"empty_dir,omitempty" runner:"KubernetesVolumes"`
	HostPaths  []VolumeHostPath  `toml:"host_path,omitempty" runner:"KubernetesVolumes"`
	CSIs       []VolumeCSI       `toml:"csi,omitempty" runner:"KubernetesVolumes"`
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
}

// VolumeEmptyDir is one [[runners.kubernetes.volumes.empty_dir]].
type VolumeEmptyDir struct {
	Name      string `toml:"name" runner:"KubernetesEmptyDir"`
	MountPath string `toml:"mount_path" runner:"KubernetesEmptyDir"`
	SubPath   string `toml:"sub_path,omitempty" runner:"KubernetesEmptyDir"`
	Medium    string `toml:"medium,omitempty" runner:"KubernetesEmptyDir"`
	SizeLimit string `toml:"size_limit,omitempty" runner:"KubernetesEmptyDir"`
}

// VolumeHostPath is one [[runners.kubernetes.volumes.host_path]].
type VolumeHostPath struct {
	Name      string `toml:"name" runner:"KubernetesHostPath"`
	MountPath string `toml:"mount_path" runner:"KubernetesHostPath"`
	SubPath   string `toml:"sub_path,omitempty" runner:"KubernetesHostPath"`
	ReadOnly  bool   `toml:"read_only,omitempty" runner:"KubernetesHostPath"`
	HostPath  string `toml:"host_path" runner:"KubernetesHostPath"`
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

// kubernetesVolumes renders the volumes as the runner reads them.
func kubernetesVolumes(volumes []settings.JobVolume) *KubernetesVolumes {
	if len(volumes) == 0 {
		return nil
	}
	out := &KubernetesVolumes{}
	for _, v := range volumes {
		switch {
		case v.ConfigMap != "":
			out.ConfigMaps = append(out.ConfigMaps, VolumeConfigMap{Name: v.ConfigMap, MountPath: v.MountPath, SubPath: v.SubPath, ReadOnly: v.ReadOnly, Items: v.Items})
		case v.Secret != "":
			out.Secrets = append(out.Secrets, VolumeSecret{Name: v.Secret, MountPath: v.MountPath, SubPath: v.SubPath, ReadOnly: v.ReadOnly, Items: v.Items})
		case v.PVC != "":
			out.PVCs = append(out.PVCs, VolumePVC{Name: v.PVC, MountPath: v.MountPath, SubPath: v.SubPath, ReadOnly: v.ReadOnly})
		case v.EmptyDir != nil:
			out.EmptyDirs = append(out.EmptyDirs, VolumeEmptyDir{Name: v.Name, MountPath: v.MountPath, SubPath: v.SubPath, Medium: v.EmptyDir.Medium, SizeLimit: v.EmptyDir.SizeLimit})
		case v.HostPath != "":
			out.HostPaths = append(out.HostPaths, VolumeHostPath{Name: v.Name, MountPath: v.MountPath, SubPath: v.SubPath, ReadOnly: v.ReadOnly, HostPath: v.HostPath})
		case v.CSI != nil:
			out.CSIs = append(out.CSIs, VolumeCSI{Name: v.Name, MountPath: v.MountPath, SubPath: v.SubPath, ReadOnly: v.ReadOnly,
				Driver: v.CSI.Driver, FSType: v.CSI.FSType, VolumeAttributes: v.CSI.VolumeAttributes})
		}
	}
	return out
}

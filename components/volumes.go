package components

import (
	"fmt"
	"path"
	"strings"
)

// Volumes of job pods ([runners.kubernetes.volumes]), typed: a ConfigMap, a
// Secret or a PersistentVolumeClaim of the job namespace (which must exist),
// an emptyDir (optionally in memory, with a size limit), a host path (only
// where the job namespace allows it: the privileged level) or a CSI volume.
// The runner mounts each into every container of the job pod (build, helper,
// services), so a service such as docker:dind shares it with the build.

// JobVolume is one volume of job pods; exactly one source is set.
type JobVolume struct {
	// Name names an emptyDir, hostPath or CSI volume (a DNS label).
	Name      string `json:"name,omitempty"`
	MountPath string `json:"mountPath"`
	SubPath   string `json:"subPath,omitempty"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
	// ConfigMap, Secret and PVC name an existing object of the job namespace.
	ConfigMap string `json:"configMap,omitempty"`
	Secret    string `json:"secret,omitempty"`
	PVC       string `json:"pvc,omitempty"`
	// Items maps ConfigMap or Secret keys to file paths (default: every key).
	Items    map[string]string `json:"items,omitempty"`
	EmptyDir *EmptyDirSource   `json:"emptyDir,omitempty"`
	HostPath string            `json:"hostPath,omitempty"`
	CSI      *CSISource        `json:"csi,omitempty"`
}

// EmptyDirSource is an emptyDir volume.
type EmptyDirSource struct {
	// Medium: "" (node disk) or Memory.
	Medium    string `json:"medium,omitempty"`
	SizeLimit string `json:"sizeLimit,omitempty"`
}

// CSISource is an inline CSI volume.
type CSISource struct {
	Driver           string            `json:"driver"`
	FSType           string            `json:"fsType,omitempty"`
	VolumeAttributes map[string]string `json:"volumeAttributes,omitempty"`
}

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

// reservedMountPaths are where the runner mounts its own volumes.
var reservedMountPaths = []string{"/builds", "/scripts-", "/logs-"}

// volumeName is the pod volume name the runner gives v.
func (v JobVolume) volumeName() string {
	return stringOr(v.ConfigMap, stringOr(v.Secret, stringOr(v.PVC, v.Name)))
}

func validateVolumes(ps *Problems, setting string, volumes []JobVolume) {
	names, mounts := map[string]int{}, map[string]int{}
	for i, v := range volumes {
		at := fmt.Sprintf("%s[%d]", setting, i)
		sources := 0
		for _, set := range []bool{v.ConfigMap != "", v.Secret != "", v.PVC != "", v.EmptyDir != nil, v.HostPath != "", v.CSI != nil} {
			if set {
				sources++
			}
		}
		if sources != 1 {
			ps.add(at, "needs exactly one source: configMap, secret, pvc, emptyDir, hostPath or csi")
			continue
		}
		byName := v.ConfigMap != "" || v.Secret != "" || v.PVC != ""
		switch {
		case byName && v.Name != "":
			ps.add(at+".name", "must be left out: a configMap, secret or pvc volume is named after its object")
		case !byName && v.Name == "":
			ps.add(at+".name", "is required for an emptyDir, hostPath or csi volume (a DNS label)")
		}
		name := v.volumeName()
		checkDNS1123Subdomain(ps, at, name)
		if first, dup := names[name]; dup {
			ps.add(at, "volume %q is already %s[%d]: volume names must be unique", name, setting, first)
		}
		names[name] = i

		clean := path.Clean(v.MountPath)
		switch {
		case !strings.HasPrefix(v.MountPath, "/"):
			ps.add(at+".mountPath", "%q must be an absolute path", v.MountPath)
		case clean != v.MountPath || clean == "/":
			ps.add(at+".mountPath", "%q must be a clean path other than /", v.MountPath)
		default:
			for _, r := range reservedMountPaths {
				if strings.HasPrefix(clean, r) {
					ps.add(at+".mountPath", "%q is where the runner mounts its own volumes (%s…); pick another path", v.MountPath, r)
				}
			}
			if first, dup := mounts[clean]; dup {
				ps.add(at+".mountPath", "%q is already the mount path of %s[%d]", v.MountPath, setting, first)
			}
			mounts[clean] = i
		}
		if v.SubPath != "" && (strings.HasPrefix(v.SubPath, "/") || strings.Contains(v.SubPath, "..")) {
			ps.add(at+".subPath", "%q must be a relative path without ..", v.SubPath)
		}
		if len(v.Items) > 0 && v.ConfigMap == "" && v.Secret == "" {
			ps.add(at+".items", "apply to configMap and secret volumes only")
		}
		for key, p := range v.Items {
			if !configMapKeyRe.MatchString(key) || strings.HasPrefix(p, "/") || strings.Contains(p, "..") || p == "" {
				ps.add(at+".items", "%q: %q must map a key to a relative file path", key, p)
			}
		}
		if d := v.EmptyDir; d != nil {
			if d.Medium != "" && d.Medium != "Memory" {
				ps.add(at+".emptyDir.medium", "%q is not allowed: leave it out (node disk) or use Memory", d.Medium)
			}
			parseQuantity(ps, at+".emptyDir.sizeLimit", d.SizeLimit)
		}
		if v.HostPath != "" && (!strings.HasPrefix(v.HostPath, "/") || path.Clean(v.HostPath) != v.HostPath) {
			ps.add(at+".hostPath", "%q must be a clean absolute path", v.HostPath)
		}
		if v.CSI != nil && v.CSI.Driver == "" {
			ps.add(at+".csi.driver", "is required")
		}
	}
}

// kubernetesVolumes renders the volumes as the runner reads them.
func kubernetesVolumes(volumes []JobVolume) *KubernetesVolumes {
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

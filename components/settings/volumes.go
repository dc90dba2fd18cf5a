package settings

import (
	"cmp"
	"fmt"
	"path"
	"strings"
)

// JobVolume is one volume of job pods ([runners.kubernetes.volumes]);
// exactly one source is set: a ConfigMap, a Secret or a
// PersistentVolumeClaim of the job namespace (which must exist), an emptyDir
// (optionally in memory, with a size limit), a host path (only where the job
// namespace allows it: the privileged level) or a CSI volume. The runner
// mounts each into every container of the job pod (build, helper, services),
// so a service such as docker:dind shares it with the build.
type JobVolume struct {
	// Name names an emptyDir, hostPath or CSI volume (a DNS label).
	Name string `json:"name,omitempty"`
	// MountPath is where job containers see the volume (an absolute path).
	MountPath string `json:"mountPath"`
	// SubPath mounts a path within the volume instead of its root.
	SubPath string `json:"subPath,omitempty"`
	// ReadOnly mounts the volume read-only.
	ReadOnly bool `json:"readOnly,omitempty"`
	// ConfigMap, Secret and PVC name an existing object of the job namespace.
	ConfigMap string `json:"configMap,omitempty"`
	Secret    string `json:"secret,omitempty"`
	PVC       string `json:"pvc,omitempty"`
	// Items maps ConfigMap or Secret keys to file paths (default: every key).
	Items map[string]string `json:"items,omitempty"`
	// EmptyDir, HostPath (a path on the node) and CSI are the volume's source
	// when it is none of the existing objects above; set exactly one source.
	EmptyDir *EmptyDirSource `json:"emptyDir,omitempty"`
	HostPath string          `json:"hostPath,omitempty"`
	CSI      *CSISource      `json:"csi,omitempty"`
}

// EmptyDirSource is an emptyDir volume.
type EmptyDirSource struct {
	// Medium: "" (node disk) or Memory.
	Medium string `json:"medium,omitempty" enum:",Memory"`
	// SizeLimit caps the volume's size (a quantity such as "1Gi").
	SizeLimit string `json:"sizeLimit,omitempty"`
}

// CSISource is an inline CSI volume.
type CSISource struct {
	// Driver is the CSI driver's name.
	Driver string `json:"driver"`
	// FSType is the file system the driver mounts (the driver's default when empty).
	FSType string `json:"fsType,omitempty"`
	// VolumeAttributes are passed to the driver.
	VolumeAttributes map[string]string `json:"volumeAttributes,omitempty"`
}

// reservedMountPaths are where the runner mounts its own volumes.
var reservedMountPaths = []string{"/builds", "/scripts-", "/logs-"}

// VolumeName is the pod volume name the runner gives v.
func (v JobVolume) VolumeName() string {
	return cmp.Or(v.ConfigMap, cmp.Or(v.Secret, cmp.Or(v.PVC, v.Name)))
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
			ps.Add(at, "needs exactly one source: configMap, secret, pvc, emptyDir, hostPath or csi")
			continue
		}
		byName := v.ConfigMap != "" || v.Secret != "" || v.PVC != ""
		switch {
		case byName && v.Name != "":
			ps.Add(at+".name", "must be left out: a configMap, secret or pvc volume is named after its object")
		case !byName && v.Name == "":
			ps.Add(at+".name", "is required for an emptyDir, hostPath or csi volume (a DNS label)")
		}
		name := v.VolumeName()
		checkDNS1123Subdomain(ps, at, name)
		if first, dup := names[name]; dup {
			ps.Add(at, "volume %q is already %s[%d]: volume names must be unique", name, setting, first)
		}
		names[name] = i

		checkMount(ps, at, setting, i, mounts, mount{v.MountPath, v.SubPath, v.Items, v.ConfigMap != "" || v.Secret != "", v.EmptyDir},
			func(clean string) []string {
				var clashes []string
				for _, r := range reservedMountPaths {
					if strings.HasPrefix(clean, r) {
						clashes = append(clashes, fmt.Sprintf("is where the runner mounts its own volumes (%s…)", r))
					}
				}
				return clashes
			})
		if v.HostPath != "" && (!strings.HasPrefix(v.HostPath, "/") || path.Clean(v.HostPath) != v.HostPath) {
			ps.Add(at+".hostPath", "%q must be a clean absolute path", v.HostPath)
		}
		if v.CSI != nil && v.CSI.Driver == "" {
			ps.Add(at+".csi.driver", "is required")
		}
	}
}

// volumeReferences are the ConfigMaps, Secrets and PVCs job volumes name,
// in the job namespace.
func volumeReferences(path, namespace string, volumes []JobVolume) []Reference {
	var out []Reference
	for i, v := range volumes {
		at := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case v.ConfigMap != "":
			out = append(out, Reference{Path: at + ".configMap", Kind: "ConfigMap", Namespace: namespace, Name: v.ConfigMap})
		case v.Secret != "":
			out = append(out, Reference{Path: at + ".secret", Kind: "Secret", Namespace: namespace, Name: v.Secret})
		case v.PVC != "":
			out = append(out, Reference{Path: at + ".pvc", Kind: "PersistentVolumeClaim", Namespace: namespace, Name: v.PVC})
		}
	}
	return out
}

// mount is what every volume setting shares: where it is mounted and the
// keyed files or scratch space it holds.
type mount struct {
	mountPath, subPath string
	items              map[string]string
	keyed              bool // a ConfigMap or Secret, which items apply to
	emptyDir           *EmptyDirSource
}

// checkMount checks a volume's mount: an absolute, clean path other than /,
// unique in its list (mounts: clean path → index) and clear of the paths
// clashes names (each clash a reason, "pick another path" follows), a
// relative sub path, items on keyed volumes only, an emptyDir's medium and
// size.
func checkMount(ps *Problems, at, setting string, i int, mounts map[string]int, m mount, clashes func(clean string) []string) {
	clean := path.Clean(m.mountPath)
	switch {
	case !strings.HasPrefix(m.mountPath, "/"):
		ps.Add(at+".mountPath", "%q must be an absolute path", m.mountPath)
	case clean != m.mountPath || clean == "/":
		ps.Add(at+".mountPath", "%q must be a clean path other than /", m.mountPath)
	default:
		for _, why := range clashes(clean) {
			ps.Add(at+".mountPath", "%q %s; pick another path", m.mountPath, why)
		}
		if first, dup := mounts[clean]; dup {
			ps.Add(at+".mountPath", "%q is already the mount path of %s[%d]", m.mountPath, setting, first)
		}
		mounts[clean] = i
	}
	if m.subPath != "" && (strings.HasPrefix(m.subPath, "/") || strings.Contains(m.subPath, "..")) {
		ps.Add(at+".subPath", "%q must be a relative path without ..", m.subPath)
	}
	if len(m.items) > 0 && !m.keyed {
		ps.Add(at+".items", "apply to configMap and secret volumes only")
	}
	for key, p := range m.items {
		if !configMapKeyRe.MatchString(key) || strings.HasPrefix(p, "/") || strings.Contains(p, "..") || p == "" {
			ps.Add(at+".items", "%q: %q must map a key to a relative file path", key, p)
		}
	}
	if d := m.emptyDir; d != nil {
		if d.Medium != "" && d.Medium != "Memory" {
			ps.Add(at+".emptyDir.medium", "%q is not allowed: leave it out (node disk) or use Memory", d.Medium)
		}
		parseQuantity(ps, at+".emptyDir.sizeLimit", d.SizeLimit)
	}
}

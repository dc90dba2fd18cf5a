package podrunner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"

	"golang.org/x/sys/unix"
)

// Volumes live under the pod's folder in the runner's private tmpfs, one
// folder each, and are bind-mounted into the containers. Those built from
// API objects (configMap, secret, downwardAPI, projected) are rewritten on
// every sync, so that changed objects and renewed tokens reach running
// containers, as with the kubelet.

// defaultFileMode is the mode of volume files without one.
const defaultFileMode = 0o644

// volumes is one pod's volumes.
type volumes struct {
	dir    string // one folder per volume
	own    ownership
	src    sources
	tokens *tokens
	// tmpfs lists the emptyDir volumes already mounted.
	tmpfs map[string]bool
}

func newVolumes(dir string, pod *corev1.Pod, src sources, tok *tokens) *volumes {
	own := ownership{GID: -1}
	if sc := pod.Spec.SecurityContext; sc != nil && sc.FSGroup != nil {
		own.GID = int(*sc.FSGroup)
	}
	return &volumes{dir: dir, own: own, src: src, tokens: tok, tmpfs: map[string]bool{}}
}

// path is the host folder of a volume.
func (v *volumes) path(name string) string { return filepath.Join(v.dir, name) }

// sync creates the volumes that do not exist yet and rewrites those built
// from API objects.
func (v *volumes) sync(ctx context.Context, pod *corev1.Pod) error {
	var errs []error
	for _, vol := range pod.Spec.Volumes {
		if err := v.syncOne(ctx, pod, vol); err != nil {
			errs = append(errs, fmt.Errorf("volume %q: %w", vol.Name, err))
		}
	}
	return errors.Join(errs...)
}

func (v *volumes) syncOne(ctx context.Context, pod *corev1.Pod, vol corev1.Volume) error {
	src := vol.VolumeSource
	var payload map[string]fileProjection
	var err error
	switch {
	case src.EmptyDir != nil:
		return v.emptyDir(vol.Name, src.EmptyDir)
	case src.ConfigMap != nil:
		payload, err = v.configMapPayload(ctx, pod, src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.DefaultMode, src.ConfigMap.Optional)
	case src.Secret != nil:
		payload, err = v.secretPayload(ctx, pod, src.Secret.SecretName, src.Secret.Items, src.Secret.DefaultMode, src.Secret.Optional)
	case src.DownwardAPI != nil:
		payload, err = v.downwardPayload(ctx, pod, src.DownwardAPI.Items, src.DownwardAPI.DefaultMode)
	case src.Projected != nil:
		payload, err = v.projectedPayload(ctx, pod, src.Projected)
	default:
		return configErrorf("unsupported volume type (this pod runner supports configMap, secret, emptyDir, downwardAPI and projected)")
	}
	if err != nil {
		return err
	}
	_, err = writeAtomic(v.path(vol.Name), payload, v.own)
	return err
}

// emptyDir mounts a tmpfs for the volume (whatever its medium: nothing of
// a pod reaches the disk here), its size bounded by sizeLimit, writable by
// everyone as the kubelet makes it, group-owned by the fsGroup.
func (v *volumes) emptyDir(name string, ed *corev1.EmptyDirVolumeSource) error {
	if v.tmpfs[name] {
		return nil
	}
	dir := v.path(name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	opts := "mode=0777"
	if ed.SizeLimit != nil && !ed.SizeLimit.IsZero() {
		opts += ",size=" + strconv.FormatInt(ed.SizeLimit.Value(), 10)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mount tmpfs: %w", err)
	}
	v.tmpfs[name] = true
	if v.own.GID >= 0 {
		if err := os.Chown(dir, -1, v.own.GID); err != nil {
			return err
		}
		if err := os.Chmod(dir, 0o777|os.ModeSetgid); err != nil {
			return err
		}
	}
	return nil
}

// teardown unmounts and removes every volume.
func (v *volumes) teardown() error {
	var errs []error
	for name := range v.tmpfs {
		if err := unix.Unmount(v.path(name), unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			errs = append(errs, fmt.Errorf("unmount volume %s: %w", name, err))
		}
	}
	v.tmpfs = map[string]bool{}
	if err := os.RemoveAll(v.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func fileMode(item, def *int32) os.FileMode {
	if item != nil {
		return os.FileMode(*item)
	}
	return os.FileMode(ptr.Deref(def, defaultFileMode))
}

// keyPayload maps data to files: every key, or the listed items.
func keyPayload(kind, name string, data map[string][]byte, items []corev1.KeyToPath, defaultMode *int32, opt bool) (map[string]fileProjection, error) {
	out := map[string]fileProjection{}
	if len(items) == 0 {
		for k, d := range data {
			out[k] = fileProjection{Data: d, Mode: fileMode(nil, defaultMode)}
		}
		return out, nil
	}
	for _, it := range items {
		d, ok := data[it.Key]
		if !ok {
			if opt {
				continue
			}
			return nil, configErrorf("configured to use key %s of %s %s, which does not exist", it.Key, kind, name)
		}
		out[it.Path] = fileProjection{Data: d, Mode: fileMode(it.Mode, defaultMode)}
	}
	return out, nil
}

func (v *volumes) configMapPayload(ctx context.Context, pod *corev1.Pod, name string, items []corev1.KeyToPath, mode *int32, opt *bool) (map[string]fileProjection, error) {
	cm, err := v.src.configMap(ctx, pod.Namespace, name)
	if apierrors.IsNotFound(err) && optional(opt) {
		return map[string]fileProjection{}, nil
	}
	if err != nil {
		return nil, configErrorf("configmap %q: %w", name, err)
	}
	data := map[string][]byte{}
	for k, s := range cm.Data {
		data[k] = []byte(s)
	}
	for k, b := range cm.BinaryData {
		data[k] = b
	}
	return keyPayload("ConfigMap", name, data, items, mode, optional(opt))
}

func (v *volumes) secretPayload(ctx context.Context, pod *corev1.Pod, name string, items []corev1.KeyToPath, mode *int32, opt *bool) (map[string]fileProjection, error) {
	s, err := v.src.secret(ctx, pod.Namespace, name)
	if apierrors.IsNotFound(err) && optional(opt) {
		return map[string]fileProjection{}, nil
	}
	if err != nil {
		return nil, configErrorf("secret %q: %w", name, err)
	}
	return keyPayload("Secret", name, s.Data, items, mode, optional(opt))
}

func (v *volumes) downwardPayload(ctx context.Context, pod *corev1.Pod, items []corev1.DownwardAPIVolumeFile, mode *int32) (map[string]fileProjection, error) {
	out := map[string]fileProjection{}
	for _, it := range items {
		var value string
		switch {
		case it.FieldRef != nil:
			val, err := podFieldValue(pod, it.FieldRef.FieldPath)
			if err != nil {
				return nil, configErrorf("downwardAPI %s: %w", it.Path, err)
			}
			value = val
		case it.ResourceFieldRef != nil:
			c := findContainer(pod, it.ResourceFieldRef.ContainerName)
			if c == nil {
				return nil, configErrorf("downwardAPI %s: no container %q", it.Path, it.ResourceFieldRef.ContainerName)
			}
			alloc, err := v.src.allocatable(ctx, pod.Spec.NodeName)
			if err != nil {
				return nil, err
			}
			val, err := resourceFieldValue(c, it.ResourceFieldRef, alloc)
			if err != nil {
				return nil, configErrorf("downwardAPI %s: %w", it.Path, err)
			}
			value = val
		default:
			return nil, configErrorf("downwardAPI %s: neither fieldRef nor resourceFieldRef", it.Path)
		}
		out[it.Path] = fileProjection{Data: []byte(value), Mode: fileMode(it.Mode, mode)}
	}
	return out, nil
}

func (v *volumes) projectedPayload(ctx context.Context, pod *corev1.Pod, p *corev1.ProjectedVolumeSource) (map[string]fileProjection, error) {
	out := map[string]fileProjection{}
	add := func(m map[string]fileProjection) {
		for k, f := range m {
			out[k] = f
		}
	}
	for _, s := range p.Sources {
		switch {
		case s.ConfigMap != nil:
			m, err := v.configMapPayload(ctx, pod, s.ConfigMap.Name, s.ConfigMap.Items, p.DefaultMode, s.ConfigMap.Optional)
			if err != nil {
				return nil, err
			}
			add(m)
		case s.Secret != nil:
			m, err := v.secretPayload(ctx, pod, s.Secret.Name, s.Secret.Items, p.DefaultMode, s.Secret.Optional)
			if err != nil {
				return nil, err
			}
			add(m)
		case s.DownwardAPI != nil:
			m, err := v.downwardPayload(ctx, pod, s.DownwardAPI.Items, p.DefaultMode)
			if err != nil {
				return nil, err
			}
			add(m)
		case s.ServiceAccountToken != nil:
			t := s.ServiceAccountToken
			tok, err := v.tokens.get(ctx, pod, t.Audience, t.ExpirationSeconds)
			if err != nil {
				return nil, err
			}
			out[t.Path] = fileProjection{Data: []byte(tok), Mode: fileMode(nil, p.DefaultMode)}
		default:
			return nil, configErrorf("unsupported projected source (this pod runner supports configMap, secret, downwardAPI and serviceAccountToken)")
		}
	}
	return out, nil
}

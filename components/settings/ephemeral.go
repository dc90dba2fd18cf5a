package settings

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/utils/ptr"
)

// EphemeralVolume is a generic ephemeral volume the fleet's job pods are
// configured with: one that executor.podSpecPatches add (the runner has no
// volume type of its own for them). For each such volume of a job pod the
// cluster creates a PersistentVolumeClaim, so the fleet allows exactly
// these, no larger, at admission, and counts their claims and storage in
// the job namespace's quota. Job pods have no other ephemeral volume.
type EphemeralVolume struct {
	// Name is the volume's name in the pod.
	Name string
	// StorageClass is the claim's storageClassName ("" for the cluster's
	// default class).
	StorageClass string
	// Size is the claim's requests.storage.
	Size resource.Quantity
}

// EphemeralVolumes are the generic ephemeral volumes that the executor's pod
// spec patches add, in the order they add them. The patches are applied to
// an empty pod spec, as strategic merge patches, the only type the fleet
// models (a job pod is built from the others by runnerconfig, which refuses
// them).
func (e ExecutorSettings) EphemeralVolumes() ([]EphemeralVolume, error) {
	spec := []byte("{}")
	for _, p := range e.PodSpecPatches {
		if p.PatchType != "" && p.PatchType != "strategic" {
			continue
		}
		var err error
		if spec, err = strategicpatch.StrategicMergePatch(spec, []byte(p.Patch), corev1.PodSpec{}); err != nil {
			return nil, fmt.Errorf("podSpecPatches %q: %w", p.Name, err)
		}
	}
	var pod corev1.PodSpec
	if err := json.Unmarshal(spec, &pod); err != nil {
		return nil, err
	}
	var out []EphemeralVolume
	for _, v := range pod.Volumes {
		if v.Ephemeral == nil {
			continue
		}
		ev := EphemeralVolume{Name: v.Name}
		if t := v.Ephemeral.VolumeClaimTemplate; t != nil {
			ev.StorageClass = ptr.Deref(t.Spec.StorageClassName, "")
			ev.Size = t.Spec.Resources.Requests[corev1.ResourceStorage]
		}
		out = append(out, ev)
	}
	return out, nil
}

// validateEphemeralVolumes: each ephemeral volume names its size, which
// bounds it at admission and in the quota.
func (e ExecutorSettings) validateEphemeralVolumes(ps *Problems, path string) {
	for _, p := range e.PodSpecPatches {
		if !json.Valid([]byte(p.Patch)) {
			return // reported by validateJobPolicy
		}
	}
	volumes, err := e.EphemeralVolumes()
	if err != nil {
		ps.Add(path+".podSpecPatches", "cannot be applied to a pod spec: %v", err)
		return
	}
	for _, v := range volumes {
		if v.Size.Sign() <= 0 {
			ps.Add(path+".podSpecPatches", "adds the ephemeral volume %q without a size: set its volumeClaimTemplate.spec.resources.requests.storage (e.g. \"10Gi\"), which bounds each job's claim and the namespace's quota", v.Name)
		}
	}
}

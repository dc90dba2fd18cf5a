package settings

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

// fencedPodFields are the job pod fields the admission policy holds to the
// fleet's typed settings (fleet.admissionPolicies): a pod spec patch that
// set one would make the runner build pods the API server refuses, so the
// setting named here is the only way to set it.
var fencedPodFields = []struct {
	field, setting string
	set            func(s corev1.PodSpec) bool
}{
	{"nodeName", "none (job pods are placed by the scheduler)", func(s corev1.PodSpec) bool { return s.NodeName != "" }},
	{"nodeSelector", "executor.nodeSelector", func(s corev1.PodSpec) bool { return s.NodeSelector != nil }},
	{"tolerations", "executor.tolerations", func(s corev1.PodSpec) bool { return s.Tolerations != nil }},
	{"affinity.nodeAffinity", "executor.nodeAffinity", func(s corev1.PodSpec) bool { return s.Affinity != nil && s.Affinity.NodeAffinity != nil }},
	{"schedulerName", "executor.schedulerName", func(s corev1.PodSpec) bool { return s.SchedulerName != "" }},
	{"priorityClassName", "executor.priorityClassName", func(s corev1.PodSpec) bool { return s.PriorityClassName != "" || s.Priority != nil }},
	{"serviceAccountName", "executor.serviceAccount", func(s corev1.PodSpec) bool { return s.ServiceAccountName != "" || s.DeprecatedServiceAccount != "" }},
	{"automountServiceAccountToken", "executor.serviceAccount", func(s corev1.PodSpec) bool { return s.AutomountServiceAccountToken != nil }},
	{"a projected token, certificate or trust bundle", "executor.serviceAccount", func(s corev1.PodSpec) bool {
		for _, v := range s.Volumes {
			if v.Projected == nil {
				continue
			}
			for _, p := range v.Projected.Sources {
				if p.ServiceAccountToken != nil || p.PodCertificate != nil || p.ClusterTrustBundle != nil {
					return true
				}
			}
		}
		return false
	}},
	{"imagePullPolicy", "executor.pullPolicy", func(s corev1.PodSpec) bool {
		for _, c := range append(append([]corev1.Container{}, s.Containers...), s.InitContainers...) {
			if c.ImagePullPolicy != "" {
				return true
			}
		}
		return false
	}},
}

// validatePodSpecPatches refuses patches that set a fenced field.
func (e ExecutorSettings) validatePodSpecPatches(ps *Problems, path string) {
	for i, p := range e.PodSpecPatches {
		if (p.PatchType != "" && p.PatchType != "strategic") || !json.Valid([]byte(p.Patch)) {
			continue // other types are refused when the job pod is built; bad JSON is reported already
		}
		data, err := strategicpatch.StrategicMergePatch([]byte("{}"), []byte(p.Patch), corev1.PodSpec{})
		if err != nil {
			ps.Add(fmt.Sprintf("%s[%d].patch", path, i), "cannot be applied to a pod spec: %v", err)
			continue
		}
		var spec corev1.PodSpec
		if err := json.Unmarshal(data, &spec); err != nil {
			ps.Add(fmt.Sprintf("%s[%d].patch", path, i), "is not a pod spec: %v", err)
			continue
		}
		for _, f := range fencedPodFields {
			if f.set(spec) {
				ps.Add(fmt.Sprintf("%s[%d].patch", path, i), "sets %s, which the admission policy holds job pods to the fleet's own settings for (the API server would refuse every job pod); use %s",
					f.field, f.setting)
			}
		}
	}
}

package podrunner

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// jobPod is a job pod as the runner's executor shapes it: the repo and
// scripts emptyDirs in both containers, plus volumes job-exec leaves alone.
func jobPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "jobs", Name: "runner-x-project-1-concurrent-0-abc", UID: "0b1c"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{
				{Name: "build", VolumeMounts: []corev1.VolumeMount{
					{Name: "repo", MountPath: "/builds"},
					{Name: "scripts", MountPath: "/scripts-1-2/"},
					{Name: "ca", MountPath: "/etc/ca", ReadOnly: true},
				}},
				{Name: "helper", VolumeMounts: []corev1.VolumeMount{
					{Name: "repo", MountPath: "/builds"},
					{Name: "scripts", MountPath: "/scripts-1-2", SubPath: "helper", ReadOnly: true},
				}},
			},
			Volumes: []corev1.Volume{
				{Name: "repo", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
				{Name: "scripts", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}},
				{Name: "ca", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}},
			},
		},
	}
}

func TestJobExecArgs(t *testing.T) {
	cfg := JobExecConfig{Containers: []string{"build", "helper"}, Binary: "/usr/local/lib/glrf-job/cluster", UID: 65534, GID: 65534}
	cmd := []string{"sh", "-c", "echo hi", "--uid=0"}

	args, err := cfg.jobExecArgs(jobPod(), "helper", cmd)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"/usr/local/lib/glrf-job/cluster", JobExecCommand,
		"--pod=jobs_runner-x-project-1-concurrent-0-abc_0b1c", "--container=helper", "--uid=65534", "--gid=65534",
		"--volume=repo::/builds:rw", "--volume=scripts:helper:/scripts-1-2:ro",
		"--own=/tmp", "--own=/var/tmp", "--own=/cache",
		"--", "sh", "-c", "echo hi", "--uid=0",
	}, args)

	j, err := parseJobExec(args[2:])
	require.NoError(t, err, "job-exec reads what the kubelet endpoint renders")
	assert.Equal(t, jobExec{
		pod: "jobs_runner-x-project-1-concurrent-0-abc_0b1c", container: "helper", uid: 65534, gid: 65534,
		volumes: []jobVolume{{name: "repo", path: "/builds"}, {name: "scripts", subPath: "helper", path: "/scripts-1-2", readOnly: true}},
		own:     []string{"/tmp", "/var/tmp", "/cache"},
		argv:    cmd,
	}, j, "the job's command is never read as job-exec's flags")

	args, err = cfg.jobExecArgs(jobPod(), "build", cmd)
	require.NoError(t, err)
	assert.Contains(t, args, "--volume=scripts::/scripts-1-2/:rw")
	assert.NotContains(t, args, "--volume=ca::/etc/ca:ro", "only emptyDir volumes are the pod's own folders")

	_, err = cfg.jobExecArgs(jobPod(), "svc-0", cmd)
	assert.ErrorContains(t, err, `container "svc-0" not found`)
}

func TestParseJobExecRefuses(t *testing.T) {
	for name, args := range map[string][]string{
		"a pod name with a slash":   {"--pod=a/../b", "--container=build", "--uid=1", "--gid=1", "--", "true"},
		"root":                      {"--pod=p", "--container=build", "--uid=0", "--gid=0", "--", "true"},
		"no user":                   {"--pod=p", "--container=build", "--", "true"},
		"a subPath leaving the pod": {"--pod=p", "--container=build", "--uid=1", "--gid=1", "--volume=repo:../x:/builds:rw", "--", "true"},
		"a relative mount path":     {"--pod=p", "--container=build", "--uid=1", "--gid=1", "--volume=repo::builds:rw", "--", "true"},
		"a bad mode":                {"--pod=p", "--container=build", "--uid=1", "--gid=1", "--volume=repo::/builds:rx", "--", "true"},
		"a relative own path":       {"--pod=p", "--container=build", "--uid=1", "--gid=1", "--own=tmp", "--", "true"},
		"no command":                {"--pod=p", "--container=build", "--uid=1", "--gid=1", "--"},
	} {
		_, err := parseJobExec(args)
		assert.Error(t, err, name)
	}
}

package runnerlab_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/glrf/gitlab-runner-fleet/components/plan"
	"github.com/glrf/gitlab-runner-fleet/components/runnerconfig"
	"github.com/glrf/gitlab-runner-fleet/components/runnerversion"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
	"gitlab.com/gitlab-org/gitlab-runner/common/spec"
	"gitlab.com/gitlab-org/gitlab-runner/shells"
)

// labVersion is the release the lab's runner reports (labRunnerVersion).
var labVersion = func() runnerversion.Version {
	v, ok := runnerversion.Parse("v" + strings.Split(labRunnerVersion, "~")[0])
	if !ok {
		panic("labRunnerVersion is not a release: " + labRunnerVersion)
	}
	return v
}()

// The hand-written job-pod model (runnerconfig.JobPod) equals the pod the
// runner's own executor builds, for every fleet of every committed stack:
// the configuration the fleet renders, read by the runner's own loader, and
// a job with a service under an alias, run by the runner's Kubernetes
// executor until it creates the pod. Every field of the pod is compared but
// the containers' environment (the job's variables, which no check reads)
// and the random suffix of its name; the shell detection command is the
// runner's script on one side and its placeholder on the other.
func TestJobPodModelIsTheRunnersPod(t *testing.T) {
	for _, f := range committedFleets(t) {
		t.Run(f.String(), func(t *testing.T) {
			assertModelIsTheRunnersPod(t, f.Settings)
		})
	}
}

func assertModelIsTheRunnersPod(t *testing.T, s settings.FleetSettings) {
	t.Helper()
	entry := runnerEntry(t, s)
	job := sampleJob(s)
	got := runnerPod(t, entry, job, existing(s, entry)...)
	final, err := runnerconfig.FinalEntry(s)
	require.NoError(t, err)
	model, err := runnerconfig.JobPod(final, labVersion, runnerconfig.JobPodOptions{
		Job: modelJob(job), Manager: testManager, ShortToken: entry.ShortDescription(),
	})
	require.NoError(t, err)
	assert.Equal(t, podYAML(t, model), podYAML(t, comparable(t, got)))
}

// modelJob is the sample job as the model takes it.
func modelJob(job spec.Job) *runnerconfig.JobSample {
	out := &runnerconfig.JobSample{
		ID: job.ID, ProjectID: job.JobInfo.ProjectID, RootNamespaceID: job.JobInfo.RootNamespaceID,
		Name: job.JobInfo.Name, ProjectName: job.JobInfo.ProjectName,
		ProjectNamespace: job.Variables.Value("CI_PROJECT_NAMESPACE"), ProjectNamespaceID: job.Variables.Value("CI_PROJECT_NAMESPACE_ID"),
		URL: job.Variables.Value("CI_JOB_URL"), Ref: job.GitInfo.Ref, Sha: job.GitInfo.Sha, BeforeSha: job.GitInfo.BeforeSha,
		TimeoutSeconds: job.RunnerInfo.Timeout, Image: job.Image.Name,
	}
	for _, s := range job.Services {
		out.Services = append(out.Services, runnerconfig.SampleService{Name: s.Name, Alias: s.Alias, Entrypoint: s.Entrypoint, Command: s.Command})
	}
	return out
}

// comparable is the runner's pod without what the model leaves out: its
// kind, uid and status (the API server's), the random suffix of its name,
// the containers' environment; its shell detection script is the model's
// placeholder, and tolerations and volume items are in key order (the
// runner lists them in a map's order).
func comparable(t *testing.T, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	pod = pod.DeepCopy()
	pod.TypeMeta, pod.UID, pod.Status = metav1.TypeMeta{}, "", corev1.PodStatus{}
	cut := strings.LastIndex(pod.Name, "-")
	require.Positive(t, cut, "the runner's pod name ends in a random suffix: %s", pod.Name)
	pod.Name = pod.Name[:cut]
	detection := []string{
		strings.ReplaceAll(shells.BashDetectShellScript, "$@", ""),
		strings.ReplaceAll(shells.BashDetectShellScript, "$@", "-l"),
	}
	for _, list := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range list {
			list[i].Env = nil
			for _, args := range [][]string{list[i].Command, list[i].Args} {
				for j, arg := range args {
					if slices.Contains(detection, arg) {
						args[j] = runnerconfig.ShellDetection
					}
				}
			}
		}
	}
	slices.SortFunc(pod.Spec.Tolerations, func(a, b corev1.Toleration) int {
		return strings.Compare(a.Key+"="+a.Value, b.Key+"="+b.Value)
	})
	for _, v := range pod.Spec.Volumes {
		var items []corev1.KeyToPath
		switch {
		case v.Secret != nil:
			items = v.Secret.Items
		case v.ConfigMap != nil:
			items = v.ConfigMap.Items
		}
		slices.SortFunc(items, func(a, b corev1.KeyToPath) int { return strings.Compare(a.Key, b.Key) })
	}
	return pod
}

func podYAML(t *testing.T, pod *corev1.Pod) string {
	t.Helper()
	data, err := yaml.Marshal(pod)
	require.NoError(t, err)
	return string(data)
}

// The same for fleets that turn on, between them, every setting that changes
// the job pod, beside the committed stacks.
func TestJobPodModelIsTheRunnersPodForEverySetting(t *testing.T) {
	for name, s := range jobPodFleets() {
		t.Run(name, func(t *testing.T) {
			_, problems := plan.Plan([]settings.FleetSettings{s})
			require.NoError(t, problems.Err(), "a valid fleet")
			assertModelIsTheRunnersPod(t, s)
		})
	}
}

// jobPodFleets turn on, between them, every setting that changes the job pod.
func jobPodFleets() map[string]settings.FleetSettings {
	yes, no := true, false
	fleet := func(e settings.ExecutorSettings) settings.FleetSettings {
		return settings.FleetSettings{Name: "opts", Runner: settings.RunnerSettings{Type: "group_type", GroupID: 1}, Executor: e}.WithDefaults("lab")
	}
	return map[string]settings.FleetSettings{
		"scheduling, DNS and host names": fleet(settings.ExecutorSettings{
			DNSPolicy: "None", DNSConfig: &settings.DNSSettings{Nameservers: []string{"10.0.0.10"}, Searches: []string{"ci.svc"}, Options: map[string]string{"ndots": "2"}},
			PriorityClassName: "ci", SchedulerName: "ci-scheduler",
			NodeAffinity: []settings.NodeRequirement{{Key: "pool", Operator: "In", Values: []string{"ci"}}},
			HostAliases:  []settings.HostAlias{{IP: "10.1.2.3", Hostnames: []string{"mirror.internal"}}},
			NodeSelector: map[string]string{"kubernetes.io/arch": "arm64"},
			Tolerations:  []settings.Toleration{{Key: "ci", Operator: "Exists", Effect: "NoSchedule"}, {Key: "zone", Value: "a", Effect: "NoExecute"}},
			PodLabels:    map[string]string{"team": "platform"}, PodAnnotations: map[string]string{"cost-center": "42"},
		}),
		"services, volumes, pull Secrets, service account, helper flavor": fleet(settings.ExecutorSettings{
			Services: []settings.JobService{{Name: "registry.example.com/redis:7.2", Alias: "cache", Entrypoint: []string{"redis-server"}, Command: []string{"--save", ""}},
				{Name: "registry.example.com/minio:2025.1"}},
			Volumes: []settings.JobVolume{
				{ConfigMap: "ci-config", MountPath: "/etc/ci", ReadOnly: true, Items: map[string]string{"b": "b.conf", "a": "a.conf"}},
				{Secret: "ci-secret", MountPath: "/etc/secret", ReadOnly: true},
				{PVC: "ci-cache", MountPath: "/cache"},
				{Name: "scratch", MountPath: "/scratch", EmptyDir: &settings.EmptyDirSource{Medium: "Memory", SizeLimit: "64Mi"}},
				{Name: "certs", MountPath: "/certs", CSI: &settings.CSISource{Driver: "csi.example.com", VolumeAttributes: map[string]string{"k": "v"}}},
			},
			ImagePullSecrets: []string{"mirror"}, ServiceAccount: "ci-jobs", HelperImageFlavor: "ubuntu",
		}),
		"restricted with own ids": fleet(settings.ExecutorSettings{PodSecurity: "restricted",
			RunAsUser: ptrTo(int64(2000)), RunAsGroup: ptrTo(int64(3000)), FSGroup: ptrTo(int64(3000))}),
		"privileged with Docker-in-Docker and a host path": fleet(settings.ExecutorSettings{Privileged: true, DockerInDocker: true, PodSecurity: "privileged",
			NodeSelector: map[string]string{"pool": "ci-docker"}, Tolerations: []settings.Toleration{{Key: "ci-docker", Operator: "Exists", Effect: "NoSchedule"}},
			Volumes: []settings.JobVolume{{Name: "host-cache", MountPath: "/host-cache", HostPath: "/var/cache/ci"}}}),
		"legacy execution strategy":          fleet(settings.ExecutorSettings{FeatureFlags: map[string]bool{runnerversion.FFLegacyExecution: true}}),
		"legacy execution with dumb-init":    fleet(settings.ExecutorSettings{FeatureFlags: map[string]bool{runnerversion.FFLegacyExecution: true, runnerversion.FFDumbInit: true}}),
		"dumb-init and the build user's uid": fleet(settings.ExecutorSettings{FeatureFlags: map[string]bool{runnerversion.FFDumbInit: true, runnerversion.FFDisableUmask: true}}),
		"the image's entrypoint honoured":    fleet(settings.ExecutorSettings{FeatureFlags: map[string]bool{runnerversion.FFHonorEntrypoint: true}}),
		"no active deadline":                 fleet(settings.ExecutorSettings{FeatureFlags: map[string]bool{runnerversion.FFPodActiveDeadline: false}}),
		"a pod spec patch":                   fleet(settings.ExecutorSettings{PodSpecPatches: []settings.PodSpecPatchSettings{{Name: "host-users", Patch: `{"hostUsers":false}`}}}),
		"what extraConfig may add": fleet(settings.ExecutorSettings{ImagePullSecrets: []string{"mirror"}, ExtraConfig: `builds_dir = "/work"
[kubernetes]
runtime_class_name = "gvisor"
use_service_account_image_pull_secrets = true
scripts_base_dir = "/tmp/ci"
logs_base_dir = "/tmp/ci"
pod_cpu_request = "2"
pod_memory_limit = "8Gi"
retry_limit = 3
[[kubernetes.volumes.nfs]]
name = "shared"
mount_path = "/shared"
server = "nfs.example.com"
path = "/exports/ci"
read_only = true
`}),
		"grace periods and informers off": fleet(settings.ExecutorSettings{PodTerminationGracePeriodSeconds: ptrTo(5), CleanupGracePeriodSeconds: ptrTo(3), UseInformers: &no, PrintPodWarningEvents: &yes}),
	}
}

func ptrTo[T any](v T) *T { return &v }

// A typed setting reaches the runner's pod as the setting says, not only as
// the model says: the runner ignores values it does not know (with a
// warning in the job log), and the model follows it there.
func TestTypedSettingsReachTheRunnersPod(t *testing.T) {
	for _, policy := range []string{"ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"} {
		t.Run("dnsPolicy "+policy, func(t *testing.T) {
			s := settings.FleetSettings{Name: "dns", Runner: settings.RunnerSettings{Type: "group_type", GroupID: 1}, Executor: settings.ExecutorSettings{
				DNSPolicy: policy, DNSConfig: &settings.DNSSettings{Nameservers: []string{"10.0.0.10"}},
			}}.WithDefaults("lab")
			entry := runnerEntry(t, s)
			pod := runnerPod(t, entry, sampleJob(s), existing(s, entry)...)
			assert.Equal(t, corev1.DNSPolicy(policy), pod.Spec.DNSPolicy)
		})
	}
}

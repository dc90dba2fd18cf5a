//go:build e2e

package e2e

// Every fleet of every committed stack, deployed on the suite's cluster with
// its namespaces and Pod Security levels, runs a job through the real
// runner: the pod the runner builds for it (with a service) is admitted, and
// it equals the hand-written model of that pod (runnerconfig.JobPod) in every
// field admission, quotas and policies read.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"math/big"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/glrf/gitlab-runner-fleet/components/runnerconfig"
	"github.com/glrf/gitlab-runner-fleet/components/runnerversion"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// committedFleet is a fleet of a committed stack file, as the suite
// deploys it.
type committedFleet struct {
	stack    string // the stack file
	original string // the fleet's name there
	settings fleet
	tag      string // the job tag only this fleet has
	project  int    // where its jobs are queued
}

func (c committedFleet) name() string { return c.settings["name"].(string) }

// committedStackFleets are the fleets of every committed stack file
// (Pulumi.*.yaml), changed only where the lab needs it:
//
//   - names and namespaces get a prefix per stack (and per cluster for a
//     stack of several clusters, whose fleets all run in the suite's), so
//     that they share the suite's cluster with the other tests;
//   - group runners belong to group 1 and project runners to a project
//     below 1000 (the stand-in's seed has projects in group 1 only), and each
//     runner gets a tag of its own for the test's jobs;
//   - the managers run once each but the dev fleet's (two), without their
//     node selector (the fake nodes carry the job pools' labels, see
//     labelNodePools) and without a PodMonitor (no Prometheus Operator here;
//     TestCIPodMonitor… covers it).
//
// What a job pod is made of (executor, security, resources, scheduling of
// jobs, volumes, services) is left as committed.
func committedStackFleets(t *testing.T) []committedFleet {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(h.root, "Pulumi.*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var out []committedFleet
	prefixes := map[string]string{}
	project := 300
	for _, path := range files {
		file := filepath.Base(path)
		stack := strings.TrimSuffix(strings.TrimPrefix(file, "Pulumi."), ".yaml")
		prefix := "c" + stack[:1] + "-"
		require.Empty(t, prefixes[prefix], "stacks %s and %s share the prefix %s: give one another", prefixes[prefix], stack, prefix)
		prefixes[prefix] = stack
		for _, f := range stackFleets(t, file) {
			c := committedFleet{stack: file, original: f["name"].(string)}
			nsPrefix := prefix
			if cluster, ok := f["cluster"].(string); ok {
				nsPrefix += cluster + "-"
				delete(f, "cluster")
			}
			f["name"] = prefix + c.original
			for _, key := range []string{"namespace", "jobNamespace"} {
				if ns, ok := f[key].(string); ok {
					f[key] = nsPrefix + ns
				}
			}
			runner := f["runner"].(map[string]any)
			switch runner["type"] {
			case "group_type":
				runner["groupId"] = 1
			case "project_type":
				c.project = runner["projectId"].(int) % 1000
				runner["projectId"] = c.project
			}
			if c.project == 0 {
				c.project = project
				project++
			}
			c.tag = "job-" + f["name"].(string)
			f = withJobTag(f, c.tag)
			manager, _ := f["manager"].(map[string]any)
			if manager == nil {
				manager = map[string]any{}
				f["manager"] = manager
			}
			delete(manager, "monitoring")
			delete(manager, "nodeSelector")
			if stack != "dev" {
				manager["replicas"] = 1
			}
			c.settings = f
			out = append(out, c)
		}
	}
	return out
}

// labelNodePools labels the fake nodes with the job node pools the
// committed stacks' job pods select (executor.nodeSelector), one pool per
// node, so that their job pods are scheduled as they would be on the
// clusters the stacks name. Fleets without a node selector use any node.
func labelNodePools(t *testing.T, fleets []committedFleet) {
	t.Helper()
	pools := map[string]bool{}
	for _, c := range fleets {
		executor, _ := c.settings["executor"].(map[string]any)
		selector, _ := executor["nodeSelector"].(map[string]any)
		for key, value := range selector {
			require.Equal(t, "node-pool", key, "%s: a job node selector the test does not label nodes for", c.name())
			pools[value.(string)] = true
		}
	}
	sorted := slices.Sorted(func(yield func(string) bool) {
		for p := range pools {
			if !yield(p) {
				return
			}
		}
	})
	nodes := h.mustKubectl(t, "get", "nodes", "-o", "name")
	names := strings.Fields(nodes)
	require.LessOrEqual(t, len(sorted), len(names), "one fake node per job pool: %v", sorted)
	for i, pool := range sorted {
		h.mustKubectl(t, "label", "--overwrite", names[i], "node-pool="+pool)
	}
	t.Cleanup(func() {
		for _, n := range names[:len(sorted)] {
			_, _ = h.kubectl(t, "label", n, "node-pool-")
		}
	})
}

// createReferences creates the objects the fleets name but do not create
// (settings' References: cache credentials, the GitLab CA bundle, image
// pull Secrets), as an operator would before `up`. They can only be made
// once `up` created the fleets' namespaces; the managers wait for them.
// Their contents are placeholders: the lab's GitLab speaks plain HTTP (the
// CA is mounted, not used), no job uses the S3 cache, and no image is
// pulled.
func createReferences(t *testing.T, fleets []committedFleet) []string {
	t.Helper()
	var raw []fleet
	for _, c := range fleets {
		raw = append(raw, c.settings)
	}
	data, err := json.Marshal(raw)
	require.NoError(t, err)
	decoded, problems := settings.DecodeFleets(string(data))
	require.Empty(t, problems)
	var created []string
	seen := map[string]bool{}
	for i, s := range decoded {
		for _, r := range s.WithDefaults("e2e").References(settings.FleetPath(i, s.Name)) {
			require.Equal(t, "Secret", r.Kind, "%s: the test creates Secrets only", r)
			id := r.Namespace + "/" + r.Name
			if seen[id] {
				continue
			}
			seen[id] = true
			secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: r.Name, Namespace: r.Namespace}}
			switch {
			case strings.Contains(r.Path, "imagePullSecrets"):
				secret.Type = corev1.SecretTypeDockerConfigJson
				secret.StringData = map[string]string{corev1.DockerConfigJsonKey: `{"auths":{}}`}
			case strings.Contains(r.Path, "gitlabCA"):
				secret.StringData = map[string]string{cmpOr(r.Key, settings.DefaultCAKey): placeholderCA(t)}
			case strings.Contains(r.Path, "cache"):
				secret.StringData = map[string]string{"accesskey": "placeholder", "secretkey": "placeholder"}
			default:
				t.Fatalf("%s (%s): a reference the test does not know how to fill", r, r.Path)
			}
			_, err := kube(t).CoreV1().Secrets(r.Namespace).Create(context.Background(), secret, metav1.CreateOptions{})
			if !apierrors.IsAlreadyExists(err) {
				require.NoError(t, err, "creating %s", r)
			}
			created = append(created, r.String())
		}
	}
	slices.Sort(created)
	return created
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// placeholderCA is a self-signed CA certificate in PEM.
func placeholderCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	template := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "e2e placeholder CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// serviceImage is the image of the service the test's jobs ask for, from
// the registry the fleet's job image comes from.
func serviceImage(f fleet) string {
	executor, _ := f["executor"].(map[string]any)
	image, _ := executor["image"].(string)
	if i := strings.LastIndex(image, "/"); i >= 0 {
		return image[:i+1] + "postgres:16"
	}
	return "postgres:16"
}

// jobPodsOf maps the recorded pods to their job ids.
func jobPodsOf(pods []recordedPod) map[int64]recordedPod {
	out := map[int64]recordedPod{}
	for _, p := range pods {
		var id int64
		if _, err := fmt.Sscan(p.Pod.Annotations["job.runner.gitlab.com/id"], &id); err == nil {
			out[id] = p
		}
	}
	return out
}

// labRunnerVersion is the version the lab's gitlab-runner reports.
func labRunnerVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(h.runnerBin, "gitlab-runner"), "--version").Output()
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^Version:\s+(\d+\.\d+\.\d+)`).FindStringSubmatch(string(out))
	require.NotNil(t, m, "gitlab-runner --version: %s", out)
	return m[1]
}

// The runs of the committed stacks' fleets: one stack of all of them, and
// per fleet a job with a service run the lab's way (legacy exec strategy)
// and one started the runner's default way (attach strategy, which cannot
// run here: its pod is compared, then the job is canceled); and on the dev
// fleet, a job that sets FF_PRINT_POD_EVENTS.
func TestRealRunnerCommittedStacks(t *testing.T) {
	t.Parallel()
	fleets := committedStackFleets(t)
	labelNodePools(t, fleets)
	var all []fleet
	for _, c := range fleets {
		all = append(all, c.settings)
	}
	s := newStack(t, "rr-committed", all...)
	s.up(t)
	t.Logf("created for the committed stacks (they name them, the lab has none): %s", strings.Join(createReferences(t, fleets), ", "))

	recorders := map[string]*podRecorder{}
	for _, c := range fleets {
		ns := jobNamespaceOf(c.settings)
		if recorders[ns] == nil {
			recorders[ns] = recordPods(t, ns)
		}
	}
	for _, c := range fleets {
		waitReady(t, managerNamespace(c.settings), c.name())
	}

	type run struct {
		fleet    committedFleet
		lab      gitlabJob // legacy exec: runs
		attach   gitlabJob // the default strategy: its pod only
		events   gitlabJob // FF_PRINT_POD_EVENTS (dev only)
		labPod   *corev1.Pod
		attachPd *corev1.Pod
	}
	runs := make([]*run, len(fleets))
	for i, c := range fleets {
		service := []map[string]any{{"name": serviceImage(c.settings), "alias": "db"}}
		r := &run{fleet: c}
		r.lab = queueJob(t, c.project, "lab", ciJob{Tags: []string{c.tag}, Services: service,
			Script: []string{`echo "job $CI_JOB_ID ran on ` + c.name() + `"`}})
		r.attach = queueJob(t, c.project, "attach", ciJob{Tags: []string{c.tag}, Services: service,
			Variables: map[string]string{runnerversion.FFLegacyExecution: "false"}, Script: []string{"echo attach"}})
		if c.stack == "Pulumi.dev.yaml" {
			r.events = queueJob(t, c.project, "pod-events", ciJob{Tags: []string{c.tag},
				Variables: map[string]string{runnerversion.FFPrintPodEvents: "true"}, Script: []string{"echo pod events"}})
		}
		runs[i] = r
	}

	// The attach jobs: once their pod exists, it is all the test needs.
	pending := slices.Clone(runs)
	for deadline := time.Now().Add(jobTimeout); len(pending) > 0 && time.Now().Before(deadline); time.Sleep(time.Second) {
		pending = slices.DeleteFunc(pending, func(r *run) bool {
			p, ok := jobPodsOf(recorders[jobNamespaceOf(r.fleet.settings)].Pods())[r.attach.ID]
			if ok {
				r.attachPd = &p.Pod
			}
			if !ok && !getJob(t, r.fleet.project, r.attach.ID).done() {
				return false
			}
			h.gitlab(t, http.MethodPost, fmt.Sprintf("projects/%d/jobs/%d/cancel", r.fleet.project, r.attach.ID), nil)
			return true
		})
	}
	for _, r := range runs {
		waitJob(t, r.fleet.project, r.lab.ID)
		if r.events.ID != 0 {
			waitJob(t, r.fleet.project, r.events.ID)
		}
		waitJob(t, r.fleet.project, r.attach.ID)
	}
	levels := map[string]bool{}
	var restricted *committedFleet
	for _, r := range runs {
		c := r.fleet
		t.Run(c.stack+"/"+c.original, func(t *testing.T) {
			ns := jobNamespaceOf(c.settings)
			level := h.mustKubectl(t, "get", "namespace", ns, "-o", "jsonpath={.metadata.labels.pod-security\\.kubernetes\\.io/enforce}")
			levels[level] = true
			if level == "restricted" && restricted == nil {
				restricted = &c
			}
			job := requireJobSucceeded(t, c.project, r.lab.ID)
			assert.Contains(t, jobTrace(t, c.project, job.ID), fmt.Sprintf("job %d ran on %s", job.ID, c.name()))
			pod, ok := jobPodsOf(recorders[ns].Pods())[job.ID]
			require.True(t, ok, "the job's pod in %s", ns)
			r.labPod = &pod.Pod
			var images []string
			for _, container := range pod.Pod.Spec.Containers {
				images = append(images, container.Image)
			}
			assert.Contains(t, images, serviceImage(c.settings), "the job's service is in its pod")
			manager := "system:serviceaccount:" + managerNamespace(c.settings) + ":" + c.name()
			var admitted bool
			for _, e := range auditEvents(t, ns) {
				if e.Verb == "create" && e.ObjectRef.Resource == "pods" && e.ObjectRef.Subresource == "" && e.User.Username == manager && e.ResponseStatus.Code == 201 {
					admitted = true
					assert.Equal(t, level+":latest", e.Annotations["pod-security.kubernetes.io/enforce-policy"])
				}
			}
			assert.True(t, admitted, "the manager's job pods were admitted in %s (%s)", ns, level)
		})
	}
	assert.Equal(t, map[string]bool{"baseline": true, "restricted": true, "privileged": true}, levels, "the stacks cover every level")

	// The runner's pod with its defaults (no security contexts), sent by the
	// same manager, is refused at restricted: the admissions above have teeth.
	t.Run("runner defaults at restricted", func(t *testing.T) {
		require.NotNil(t, restricted, "a fleet with a restricted job namespace")
		ns := jobNamespaceOf(restricted.settings)
		raw, err := runnerconfig.JobPod(runnerconfig.RunnerConfig{Executor: "kubernetes",
			Kubernetes: runnerconfig.KubernetesConfig{Namespace: ns, Image: "alpine:3.22"}},
			runnerversion.NewestKnown, runnerconfig.JobPodOptions{Services: 1})
		require.NoError(t, err)
		_, err = kubeAs(t, managerNamespace(restricted.settings), restricted.name()).CoreV1().Pods(ns).Create(context.Background(), raw,
			metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		require.Error(t, err)
		assert.True(t, apierrors.IsForbidden(err), "%v", err)
		assert.Contains(t, err.Error(), `violates PodSecurity "restricted:latest"`)
	})

	t.Run("FF_PRINT_POD_EVENTS set by a job", func(t *testing.T) {
		for _, r := range runs {
			if r.events.ID != 0 {
				requireJobSucceeded(t, r.fleet.project, r.events.ID)
			}
		}
	})

	version := labRunnerVersion(t)
	for _, r := range runs {
		c := r.fleet
		t.Run("model/"+c.stack+"/"+c.original, func(t *testing.T) {
			require.NotNil(t, r.attachPd, "the runner's pod for a job of the default strategy")
			compareJobPod(t, c, *r.attachPd, false, version)
			if r.labPod != nil {
				compareJobPod(t, c, *r.labPod, true, version)
			}
		})
	}
}

// compareJobPod checks that the model's pod for the fleet's config, as the
// API server stores it (a dry-run create as the manager: defaults and
// admission applied as to the real one), equals the runner's pod in every
// field admission, quotas and policies read. legacy: the job chose the
// legacy exec strategy (a job variable), which the model is told.
func compareJobPod(t *testing.T, c committedFleet, real corev1.Pod, legacy bool, labVersion string) {
	t.Helper()
	managers := managerNamespace(c.settings)
	var template runnerconfig.RunnerTemplate
	_, err := toml.Decode(runnerTemplate(t, managers, c.name()), &template)
	require.NoError(t, err)
	require.Len(t, template.Runners, 1)
	runner := template.Runners[0]
	if legacy {
		if runner.FeatureFlags == nil {
			runner.FeatureFlags = map[string]bool{}
		}
		runner.FeatureFlags[runnerversion.FFLegacyExecution] = true
	}
	sts, err := kube(t).AppsV1().StatefulSets(managers).Get(context.Background(), c.name(), metav1.GetOptions{})
	require.NoError(t, err)
	version, ok := settings.RunnerVersionOfImage(sts.Spec.Template.Spec.Containers[0].Image)
	require.True(t, ok)
	// The test's job: its service, and its timeout (GitLab's default, one
	// hour, capped by the runner's maximum timeout).
	job := runnerconfig.DefaultJob
	job.TimeoutSeconds = jobTimeoutOf(c.settings)
	job.Services = []runnerconfig.SampleService{{Name: serviceImage(c.settings), Alias: "db"}}
	model, err := runnerconfig.JobPod(runner, version, runnerconfig.JobPodOptions{Job: &job})
	require.NoError(t, err)
	// The default helper image's tag follows the runner binary's version
	// (v19.4.0 in the lab, the pinned image's v19.3.0 in the model); a
	// configured helper_image is used as it is.
	pinnedHelper := "gitlab-runner-helper:x86_64-" + version.String()
	for _, list := range [][]corev1.Container{model.Spec.InitContainers, model.Spec.Containers} {
		for i := range list {
			if runner.Kubernetes.HelperImage == "" && strings.HasSuffix(list[i].Image, pinnedHelper) {
				list[i].Image = strings.TrimSuffix(list[i].Image, pinnedHelper) + "gitlab-runner-helper:x86_64-v" + labVersion
			}
		}
	}
	stored, err := kubeAs(t, managers, c.name()).CoreV1().Pods(runner.Kubernetes.Namespace).Create(context.Background(), model,
		metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	require.NoError(t, err, "the model's pod is admitted as the manager")

	want, got := policyFields(stored), policyFields(&real)
	var drift []string
	for _, key := range slices.Sorted(maps.Keys(merge(want, got))) {
		if want[key] != got[key] {
			drift = append(drift, fmt.Sprintf("%s:\n    model:  %s\n    runner: %s", key, want[key], got[key]))
		}
	}
	assert.Empty(t, drift, "%s, %s strategy: the model's job pod differs from the runner's (%s) in fields admission, quotas or policies read:\n  %s",
		c.name(), strategyName(legacy), real.Name, strings.Join(drift, "\n  "))
	// The configured labels, which policies select job pods by (the
	// runner's own name the job, project and manager).
	for key, value := range runner.Kubernetes.PodLabels {
		assert.Equal(t, value, real.Labels[key], "%s: label %s", c.name(), key)
		assert.Equal(t, value, stored.Labels[key], "%s: label %s in the model", c.name(), key)
	}
}

// jobTimeoutOf is the timeout GitLab gives the test's jobs on a fleet: a
// project's default, one hour, capped by the runner's maximumTimeout.
func jobTimeoutOf(f fleet) int {
	timeout := 3600
	runner, _ := f["runner"].(map[string]any)
	if limit, ok := runner["maximumTimeout"].(int); ok && limit < timeout {
		timeout = limit
	}
	return timeout
}

func strategyName(legacy bool) string {
	if legacy {
		return "legacy exec"
	}
	return "default (attach)"
}

// merge is the union of two maps' keys (values of b win).
func merge(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}

// policyFields are the fields of a pod that Pod Security admission, the
// fleet's admission policy, ResourceQuota and LimitRange, NetworkPolicies
// and the scheduler read, keyed by path, each as JSON.
func policyFields(pod *corev1.Pod) map[string]string {
	out := map[string]string{}
	put := func(key string, v any) {
		data, _ := json.Marshal(v)
		out[key] = string(data)
	}
	s := pod.Spec
	put("spec.serviceAccountName", s.ServiceAccountName)
	put("spec.automountServiceAccountToken", s.AutomountServiceAccountToken)
	put("spec.securityContext", s.SecurityContext)
	put("spec.hostNetwork", s.HostNetwork)
	put("spec.hostPID", s.HostPID)
	put("spec.hostIPC", s.HostIPC)
	put("spec.hostUsers", s.HostUsers)
	put("spec.shareProcessNamespace", s.ShareProcessNamespace)
	put("spec.nodeSelector", s.NodeSelector)
	put("spec.tolerations", s.Tolerations)
	put("spec.affinity", s.Affinity)
	put("spec.priorityClassName", s.PriorityClassName)
	put("spec.priority", s.Priority)
	put("spec.runtimeClassName", s.RuntimeClassName)
	put("spec.overhead", s.Overhead)
	put("spec.activeDeadlineSeconds", s.ActiveDeadlineSeconds)
	put("spec.dnsPolicy", s.DNSPolicy)
	put("spec.dnsConfig", s.DNSConfig)
	put("spec.hostAliases", s.HostAliases)
	put("spec.imagePullSecrets", s.ImagePullSecrets)
	put("spec.schedulerName", s.SchedulerName)
	put("spec.restartPolicy", s.RestartPolicy)
	put("spec.os", s.OS)
	var volumes []string
	for _, v := range s.Volumes {
		var source map[string]any
		data, _ := json.Marshal(v.VolumeSource)
		_ = json.Unmarshal(data, &source)
		for kind, spec := range source {
			volume := v.Name + ": " + kind
			if kind == "emptyDir" || kind == "hostPath" {
				detail, _ := json.Marshal(spec)
				volume += " " + string(detail)
			}
			volumes = append(volumes, volume)
		}
	}
	slices.Sort(volumes)
	put("spec.volumes", volumes)
	for _, list := range []struct {
		path       string
		containers []corev1.Container
	}{{"initContainers", s.InitContainers}, {"containers", s.Containers}} {
		var names []string
		for _, c := range list.containers {
			names = append(names, c.Name)
			at := func(field string) string { return fmt.Sprintf("spec.%s[%s].%s", list.path, c.Name, field) }
			put(at("image"), c.Image)
			put(at("imagePullPolicy"), c.ImagePullPolicy)
			put(at("securityContext"), c.SecurityContext)
			put(at("resources"), c.Resources)
			var hostPorts []int32
			for _, p := range c.Ports {
				if p.HostPort != 0 {
					hostPorts = append(hostPorts, p.HostPort)
				}
			}
			put(at("hostPorts"), hostPorts)
		}
		put("spec."+list.path, names)
	}
	return out
}

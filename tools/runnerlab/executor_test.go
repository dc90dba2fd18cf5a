package runnerlab_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/glrf/gitlab-runner-fleet/components/runnerconfig"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
	"gitlab.com/gitlab-org/gitlab-runner/common"
	"gitlab.com/gitlab-org/gitlab-runner/common/spec"
	"gitlab.com/gitlab-org/gitlab-runner/executors/kubernetes"
	_ "gitlab.com/gitlab-org/gitlab-runner/shells" // registers the shells, as the runner's main package does
)

// The lab's runner reports its source's release, as the built binary does
// (build.sh stamps it), so that it picks the helper image tag and the code
// paths of that release.
func TestMain(m *testing.M) {
	common.AppVersion.Version = labRunnerVersion
	os.Exit(m.Run())
}

// labRunnerVersion is the release of the runner module go.mod pins (its
// VERSION file says 19.4.0; a pre-release of 19.4).
const labRunnerVersion = "19.4.0~pre.gfc1f1862"

// A runner token and manager name as the managers have them.
const (
	testToken   = "glrt-t1_0123456789abcdefghij"
	testManager = "builds-0"
)

// sampleJob is a job as GitLab hands it to the runner: a project's job with
// one service under an alias, the job's image left to the configuration,
// and no sources to fetch.
func sampleJob(s settings.FleetSettings) spec.Job {
	return spec.Job{
		ID:    4242,
		Token: "glcbt-64_0123456789abcdefghij",
		JobInfo: spec.JobInfo{
			Name: "build", Stage: "test", ProjectID: 77, ProjectName: "app", RootNamespaceID: 5,
		},
		GitInfo: spec.GitInfo{
			RepoURL: "https://gitlab.example.com/group/app.git", Ref: "main", RefType: spec.RefTypeBranch,
			Sha: "0123456789abcdef0123456789abcdef01234567", BeforeSha: "89abcdef0123456789abcdef0123456789abcdef",
		},
		RunnerInfo: spec.RunnerInfo{Timeout: 3600},
		Variables: spec.Variables{
			{Key: "GIT_STRATEGY", Value: "none", Public: true},
			{Key: "CI_PROJECT_NAMESPACE", Value: "group", Public: true},
			{Key: "CI_PROJECT_NAMESPACE_ID", Value: "5", Public: true},
			{Key: "CI_PROJECT_ROOT_NAMESPACE", Value: "group", Public: true},
			{Key: "CI_JOB_URL", Value: "https://gitlab.example.com/group/app/-/jobs/4242", Public: true},
		},
		Steps:    spec.Steps{{Name: spec.StepNameScript, Script: spec.StepScript{"echo hello"}, When: spec.StepWhenOnSuccess}},
		Services: spec.Services{{Name: sampleServiceImage(s), Alias: "db"}},
	}
}

// sampleServiceImage is an image the fleet's allowed_services accept.
func sampleServiceImage(s settings.FleetSettings) string {
	if len(s.Executor.AllowedServices) > 0 {
		return strings.ReplaceAll(s.Executor.AllowedServices[0], "*", "x")
	}
	return "registry.example.com/postgres:16"
}

// runnerEntry is the fleet's [[runners]] entry as the runner's own loader
// reads it (common.Config.LoadConfig): the rendered config.toml and
// template, with the URL, token and name `register` adds.
func runnerEntry(t *testing.T, s settings.FleetSettings) *common.RunnerConfig {
	t.Helper()
	global, err := runnerconfig.RenderGlobalConfig(s.Manager)
	require.NoError(t, err)
	template, err := runnerconfig.RenderRunnerTemplate(s)
	require.NoError(t, err)
	var doc map[string]any
	_, err = toml.Decode(template, &doc)
	require.NoError(t, err)
	entry := doc["runners"].([]map[string]any)[0]
	entry["name"], entry["url"], entry["token"] = testManager, "https://gitlab.example.com/", testToken
	var buf bytes.Buffer
	require.NoError(t, toml.NewEncoder(&buf).Encode(doc))
	path := filepath.Join(t.TempDir(), "config.toml")
	require.NoError(t, os.WriteFile(path, []byte(global+"\n"+buf.String()), 0o600))
	config := common.NewConfig()
	require.NoError(t, config.LoadConfig(path))
	require.Len(t, config.Runners, 1)
	config.Runners[0].SystemID = "s_0123456789ab"
	return config.Runners[0]
}

// runnerPod runs job with the runner's own Kubernetes executor for the given
// [[runners]] entry, against a test API server holding objects, and returns
// the job pod the executor created.
func runnerPod(t *testing.T, entry *common.RunnerConfig, job spec.Job, objects ...runtime.Object) *corev1.Pod {
	t.Helper()
	api := newAPIServer(t, objects...)
	entry.Kubernetes.Host = api.URL
	provider := kubernetes.NewProvider()
	build, err := common.NewBuild(job, entry, nil, nil, provider)
	require.NoError(t, err)
	var log bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	runErr := build.Run(ctx, &common.Config{}, &common.Trace{Writer: &log})
	pods := api.createdPods()
	require.Len(t, pods, 1, "the executor creates one job pod (run: %v; unexpected requests: %v)\njob log:\n%s", runErr, api.unexpected, log.String())
	return pods[0]
}

// existing are the objects a fleet's job pods name, as an operator (or the
// fleet) creates them in the job namespace before jobs run.
func existing(s settings.FleetSettings, entry *common.RunnerConfig) []runtime.Object {
	ns := entry.Kubernetes.Namespace
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: ns} }
	out := []runtime.Object{&corev1.ServiceAccount{ObjectMeta: meta("default")}}
	if sa := entry.Kubernetes.ServiceAccount; sa != "" {
		out = append(out, &corev1.ServiceAccount{ObjectMeta: meta(sa)})
	}
	for _, name := range entry.Kubernetes.ImagePullSecrets {
		out = append(out, &corev1.Secret{ObjectMeta: meta(name)})
	}
	for _, sa := range s.Executor.Overwrite.ServiceAccounts {
		out = append(out, &corev1.ServiceAccount{ObjectMeta: meta(sa)})
	}
	return out
}

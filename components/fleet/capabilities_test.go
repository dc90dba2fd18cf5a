package fleet_test

import (
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/fleet"
	"github.com/glrf/gitlab-runner-fleet/components/plan"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
	"github.com/glrf/gitlab-runner-fleet/tests/mocks"
)

const tCustomResource = "kubernetes:monitoring.coreos.com/v1:PodMonitor"

// runFleetWith registers a validated fleet whose named stack settings hold
// values (all passed as secrets, as the program passes secret settings).
func runFleetWith(t *testing.T, s settings.FleetSettings, values map[string]string) *mocks.Mocks {
	t.Helper()
	plans, problems := plan.Plan([]settings.FleetSettings{s})
	require.NoError(t, problems.Err())
	m := &mocks.Mocks{}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		outputs := map[string]pulumi.StringOutput{}
		for k, v := range values {
			outputs[k] = pulumi.ToSecret(pulumi.String(v)).(pulumi.StringOutput)
		}
		_, err := fleet.NewRunnerFleet(ctx, s.Name, &fleet.RunnerFleetArgs{
			Settings: s, GitlabURL: "https://gitlab.example.com/", Stack: &fleet.StackPart{CreateNamespaces: plans[0].Create, Jobs: plans[0].Jobs},
			APIServer: testAPIServer, ConfigValues: outputs,
		})
		return err
	}, pulumi.WithMocks("project", "stack", m))
	require.NoError(t, err)
	return m
}

// renderedTemplate is the fleet's runner-template.toml read back.
func renderedTemplate(t *testing.T, m *mocks.Mocks, fleet string) (string, map[string]any) {
	t.Helper()
	cm := m.Find(tConfigMap, fleet+"-config")
	require.NotNil(t, cm)
	text := mocks.String(cm.Inputs, "data", "runner-template.toml")
	var doc struct {
		Runners []map[string]any `toml:"runners"`
	}
	_, err := toml.Decode(text, &doc)
	require.NoError(t, err)
	require.Len(t, doc.Runners, 1)
	return text, doc.Runners[0]
}

// managerContainer is the manager container of the fleet's pod template.
func managerContainer(t *testing.T, m *mocks.Mocks, fleet string) resource.PropertyMap {
	return podSpecOf(t, m, fleet)["containers"].ArrayValue()[0].ObjectValue()
}

// envRef is the Secret name and key an environment variable comes from.
func envRef(t *testing.T, c resource.PropertyMap, name string) (string, string) {
	t.Helper()
	for _, e := range c["env"].ArrayValue() {
		if e.ObjectValue()["name"].StringValue() == name {
			ref := e.ObjectValue()["valueFrom"].ObjectValue()["secretKeyRef"].ObjectValue()
			return ref["name"].StringValue(), ref["key"].StringValue()
		}
	}
	t.Fatalf("no %s in the container's environment", name)
	return "", ""
}

func valid(t *testing.T, s settings.FleetSettings) settings.FleetSettings {
	t.Helper()
	s = s.WithDefaults("test")
	require.NoError(t, plan.Check(s, "fleet").Err())
	return s
}

func TestS3CacheWithKeysFromStackSettings(t *testing.T) {
	s := groupFleet()
	s.Cache = settings.CacheSettings{Type: "s3", Shared: true, Path: "runners", S3: &settings.S3CacheSettings{
		ServerAddress: "minio.storage:9000", BucketName: "ci-cache", Insecure: true, PathStyle: ptr(true),
		AccessKeyConfigKey: "cacheAccessKey", SecretKeyConfigKey: "cacheSecretKey"}}
	s = valid(t, s)
	m := runFleetWith(t, s, map[string]string{"cacheAccessKey": "AKIA-test", "cacheSecretKey": "s3cr3t-key"})

	secret := m.Find(tSecret, "builds-cache")
	require.NotNil(t, secret)
	assert.True(t, mocks.ContainsSecret(secret.Inputs["stringData"]), "the keys stay secret")
	assert.Equal(t, "AKIA-test", mocks.String(secret.Inputs, "stringData", "accesskey"))
	assert.Equal(t, "s3cr3t-key", mocks.String(secret.Inputs, "stringData", "secretkey"))

	c := managerContainer(t, m, "builds")
	for env, key := range map[string]string{"CACHE_S3_ACCESS_KEY": "accesskey", "CACHE_S3_SECRET_KEY": "secretkey"} {
		name, k := envRef(t, c, env)
		assert.Equal(t, "builds-cache-mock1234", name)
		assert.Equal(t, key, k)
	}
	text, runner := renderedTemplate(t, m, "builds")
	cache := runner["cache"].(map[string]any)
	assert.Equal(t, "s3", cache["Type"])
	assert.Equal(t, true, cache["Shared"])
	s3 := cache["s3"].(map[string]any)
	assert.Equal(t, map[string]any{"ServerAddress": "minio.storage:9000", "BucketName": "ci-cache", "Insecure": true, "PathStyle": true}, s3)
	for _, r := range m.All() {
		for _, v := range r.Inputs {
			if r.Type != tSecret {
				assert.NotContains(t, v.String(), "s3cr3t-key", "%s %s holds the key", r.Type, r.Name)
			}
		}
	}
	assert.NotContains(t, text, "AKIA-test")
}

func TestCacheWithAnExistingSecretOrWorkloadIdentity(t *testing.T) {
	existing := groupFleet()
	existing.Cache = settings.CacheSettings{Type: "gcs", ExistingSecret: "gcs-cache", GCS: &settings.GCSCacheSettings{BucketName: "ci-cache"}}
	m := runFleetWith(t, valid(t, existing), nil)
	assert.Nil(t, m.Find(tSecret, "builds-cache"), "an existing Secret is used as it is")
	name, key := envRef(t, managerContainer(t, m, "builds"), "CACHE_GCS_PRIVATE_KEY")
	assert.Equal(t, "gcs-cache", name)
	assert.Equal(t, "gcs-private-key", key, "the Helm chart's key names")

	identity := groupFleet()
	identity.Cache = settings.CacheSettings{Type: "s3", S3: &settings.S3CacheSettings{BucketName: "ci-cache", BucketLocation: "eu-west-1", AuthenticationType: "iam"}}
	identity.Manager.ServiceAccountAnnotations = map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/ci-cache"}
	m = runFleetWith(t, valid(t, identity), nil)
	for _, e := range managerContainer(t, m, "builds")["env"].ArrayValue() {
		assert.NotContains(t, e.ObjectValue()["name"].StringValue(), "CACHE_", "no keys with a workload identity")
	}
	sa := m.Find(tServiceAccount, "builds")
	assert.Equal(t, "arn:aws:iam::123456789012:role/ci-cache", mocks.String(sa.Inputs, "metadata", "annotations", "eks.amazonaws.com/role-arn"))
	_, runner := renderedTemplate(t, m, "builds")
	assert.Equal(t, "iam", runner["cache"].(map[string]any)["s3"].(map[string]any)["AuthenticationType"])
}

func TestGitlabCABundle(t *testing.T) {
	s := groupFleet()
	s.GitlabCA = &settings.CASettings{ConfigKey: "gitlabCA"}
	m := runFleetWith(t, valid(t, s), map[string]string{"gitlabCA": "-----BEGIN CERTIFICATE-----\n..."})
	secret := m.Find(tSecret, "builds-gitlab-ca")
	require.NotNil(t, secret)
	pod := podSpecOf(t, m, "builds")
	var volume resource.PropertyMap
	for _, v := range pod["volumes"].ArrayValue() {
		if v.ObjectValue()["name"].StringValue() == "gitlab-ca" {
			volume = v.ObjectValue()["secret"].ObjectValue()
		}
	}
	require.NotNil(t, volume, "the bundle is mounted")
	assert.Equal(t, "builds-gitlab-ca-mock1234", volume["secretName"].StringValue())
	c := managerContainer(t, m, "builds")
	assert.Equal(t, "/etc/gitlab-runner-ca/ca.crt", envOf(t, c, "CI_SERVER_TLS_CA_FILE"), "register verifies the token with it")
	_, runner := renderedTemplate(t, m, "builds")
	assert.Equal(t, "/etc/gitlab-runner-ca/ca.crt", runner["tls-ca-file"], "the runner, and through it every job's helper, uses it")

	require.Error(t, settings.CheckCABundle("not a certificate"))
}

func TestRegistriesAndHelperImage(t *testing.T) {
	s := groupFleet()
	s.Manager.ImagePullSecrets = []string{"mirror-pull"}
	s.Executor.ImagePullSecrets = []string{"jobs-pull"}
	s.Executor.RegistryCredentialsConfigKey = "jobsRegistry"
	s.Executor.HelperImage = "mirror.example.com/gitlab-runner-helper:x86_64-v19.3.0"
	m := runFleetWith(t, valid(t, s), map[string]string{"jobsRegistry": `{"auths":{"mirror.example.com":{"auth":"eDp5"}}}`})
	secrets, _ := mocks.Get(podSpecOf(t, m, "builds"), "imagePullSecrets")
	assert.Equal(t, "mirror-pull", secrets.ArrayValue()[0].ObjectValue()["name"].StringValue())
	jobs := m.Find(tSecret, "builds-jobs-registry")
	require.NotNil(t, jobs)
	assert.Equal(t, "kubernetes.io/dockerconfigjson", jobs.Inputs["type"].StringValue())
	assert.Equal(t, "gitlab-runner-builds-jobs", mocks.String(jobs.Inputs, "metadata", "namespace"))
	_, runner := renderedTemplate(t, m, "builds")
	k := runner["kubernetes"].(map[string]any)
	assert.Equal(t, []any{"jobs-pull", "builds-registry"}, k["image_pull_secrets"])
	assert.Equal(t, "mirror.example.com/gitlab-runner-helper:x86_64-v19.3.0", k["helper_image"])
	require.Error(t, settings.CheckDockerConfig(`{"auths":{}}`))
}

func TestJobVolumesAndDockerInDocker(t *testing.T) {
	s := groupFleet()
	s.Executor.Privileged, s.Executor.DockerInDocker, s.Executor.PodSecurity = true, true, "privileged"
	s.Executor.NodeSelector = map[string]string{"pool": "docker"}
	s.Executor.Tolerations = []settings.Toleration{{Key: "docker", Operator: "Exists", Effect: "NoSchedule"}}
	s.Executor.Volumes = []settings.JobVolume{
		{ConfigMap: "ci-settings", MountPath: "/etc/ci", ReadOnly: true, Items: map[string]string{"settings.xml": "maven/settings.xml"}},
		{PVC: "gradle-cache", MountPath: "/cache/gradle"},
		{Name: "scratch", MountPath: "/scratch", EmptyDir: &settings.EmptyDirSource{SizeLimit: "10Gi"}},
		{Name: "sock", MountPath: "/var/run/host", HostPath: "/var/run/host"},
	}
	m := runFleetWith(t, valid(t, s), nil)
	_, runner := renderedTemplate(t, m, "builds")
	k := runner["kubernetes"].(map[string]any)
	volumes := k["volumes"].(map[string]any)
	assert.Equal(t, "ci-settings", volumes["config_map"].([]map[string]any)[0]["name"])
	assert.Equal(t, "gradle-cache", volumes["pvc"].([]map[string]any)[0]["name"])
	emptyDirs := volumes["empty_dir"].([]map[string]any)
	assert.Equal(t, "docker-certs", emptyDirs[0]["name"], "the dind recipe's shared certificates")
	assert.Equal(t, "/certs/client", emptyDirs[0]["mount_path"])
	assert.Equal(t, "/var/run/host", volumes["host_path"].([]map[string]any)[0]["host_path"])
	services := k["services"].([]map[string]any)
	assert.Equal(t, settings.DefaultDockerInDockerImage, services[0]["name"])
	assert.Equal(t, "docker", services[0]["alias"])
	assert.Equal(t, []any{"DOCKER_CERT_PATH=/certs/client", "DOCKER_HOST=tcp://docker:2376", "DOCKER_TLS_CERTDIR=/certs", "DOCKER_TLS_VERIFY=1"}, runner["environment"])
}

func TestJobVolumeProblems(t *testing.T) {
	s := groupFleet()
	s.Executor.Volumes = []settings.JobVolume{
		{ConfigMap: "a", MountPath: "relative"},
		{Secret: "b", MountPath: "/same"},
		{PVC: "c", MountPath: "/same"},
		{Name: "d", MountPath: "/builds/x", EmptyDir: &settings.EmptyDirSource{Medium: "Disk"}},
		{Name: "e", MountPath: "/e"},
		{Name: "host", MountPath: "/host", HostPath: "/var/run/docker.sock"},
	}
	err := plan.Check(s.WithDefaults("t"), "fleet").Err()
	require.Error(t, err)
	for _, want := range []string{
		`fleet.executor.volumes[0].mountPath: "relative" must be an absolute path`,
		`fleet.executor.volumes[2].mountPath: "/same" is already the mount path of fleet.executor.volumes[1]`,
		`fleet.executor.volumes[3].mountPath: "/builds/x" is where the runner mounts its own volumes`,
		`fleet.executor.volumes[3].emptyDir.medium: "Disk" is not allowed`,
		`fleet.executor.volumes[4]: needs exactly one source`,
	} {
		assert.Contains(t, err.Error(), want)
	}
	// Host paths are refused where the job namespace is not privileged: the
	// job pod the runner would build fails the baseline level.
	hostOnly := groupFleet()
	hostOnly.Executor.Volumes = []settings.JobVolume{{Name: "host", MountPath: "/host", HostPath: "/var/run/docker.sock"}}
	err = plan.Check(hostOnly.WithDefaults("t"), "fleet").Err()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `enforces "baseline", which would reject every job pod`)
	assert.Contains(t, err.Error(), "hostPath volumes")
}

func TestJobPolicy(t *testing.T) {
	s := groupFleet()
	e := &s.Executor
	e.Environment = map[string]string{"GOFLAGS": "-mod=mod", "A": "1"}
	e.AllowedImages = []string{"registry.example.com/*"}
	e.AllowedServices = []string{"postgres:*"}
	e.Services = []settings.JobService{{Name: "postgres:16.4", Alias: "db"}}
	e.DNSPolicy = "ClusterFirst"
	e.DNSConfig = &settings.DNSSettings{Options: map[string]string{"ndots": "2"}}
	e.PriorityClassName, e.SchedulerName = "ci-low", "default-scheduler"
	e.NodeAffinity = []settings.NodeRequirement{{Key: "kubernetes.io/arch", Operator: "In", Values: []string{"amd64"}}}
	e.HostAliases = []settings.HostAlias{{IP: "10.1.2.3", Hostnames: []string{"git.internal"}}}
	e.PodSpecPatches = []settings.PodSpecPatchSettings{{Name: "labels", Patch: `{"enableServiceLinks": false}`}}
	e.Overwrite = settings.OverwriteSettings{ServiceAccounts: []string{"deployer"}, CPULimit: "4", MemoryLimit: "8Gi"}
	m := runFleetWith(t, valid(t, s), nil)
	_, runner := renderedTemplate(t, m, "builds")
	k := runner["kubernetes"].(map[string]any)
	assert.Equal(t, []any{"A=1", "GOFLAGS=-mod=mod"}, runner["environment"])
	assert.Equal(t, []any{"registry.example.com/*"}, k["allowed_images"])
	assert.Equal(t, []any{"postgres:*"}, k["allowed_services"])
	assert.Equal(t, "db", k["services"].([]map[string]any)[0]["alias"])
	assert.Equal(t, "ci-low", k["priority_class_name"])
	assert.Equal(t, "^(deployer)$", k["service_account_overwrite_allowed"])
	assert.Equal(t, "4", k["cpu_limit_overwrite_max_allowed"])
	assert.Equal(t, true, runner["feature_flags"].(map[string]any)["FF_USE_ADVANCED_POD_SPEC_CONFIGURATION"], "pod spec patches need it")
	assert.Equal(t, "labels", k["pod_spec"].([]map[string]any)[0]["name"])
	affinity := k["affinity"].(map[string]any)["node_affinity"].(map[string]any)
	assert.Contains(t, affinity, "required_during_scheduling_ignored_during_execution")

	expressions, _ := mocks.Get(m.Find(tVAP, "builds-manager-requests").Inputs, "spec", "validations")
	assert.Contains(t, expressions.ArrayValue()[1].ObjectValue()["expression"].StringValue(), `in ["default", "deployer"]`,
		"the admission policy allows the ServiceAccounts jobs may choose")

	bad := groupFleet()
	bad.Executor.Overwrite.Namespace = ".*"
	err := plan.Check(bad.WithDefaults("t"), "fleet").Err()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "fleet.executor.overwrite.namespace: cannot be allowed")

	escape := groupFleet()
	escape.Executor.PodSpecPatches = []settings.PodSpecPatchSettings{{Name: "root", Patch: `{"hostNetwork": true}`}}
	err = plan.Check(escape.WithDefaults("t"), "fleet").Err()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "host namespaces", "a patch that undoes the level's rules is caught on the patched pod")
}

func TestExistingTokenInASecret(t *testing.T) {
	s := settings.FleetSettings{Name: "external", TokenSecret: &settings.SecretKeyRef{Name: "runner-token-from-vault"}}
	m := runFleetWith(t, valid(t, s), nil)
	assert.Empty(t, m.OfType(tUserRunner), "no runner is created")
	assert.Nil(t, m.Find(tSecret, "external-token"), "nor a token Secret")
	var token resource.PropertyMap
	for _, v := range podSpecOf(t, m, "external")["volumes"].ArrayValue() {
		if v.ObjectValue()["name"].StringValue() == "token" {
			token = v.ObjectValue()["secret"].ObjectValue()
		}
	}
	require.NotNil(t, token)
	assert.Equal(t, "runner-token-from-vault", token["secretName"].StringValue())
	item := token["items"].ArrayValue()[0].ObjectValue()
	assert.Equal(t, "runner-token", item["key"].StringValue())
	assert.Equal(t, "runner-token", item["path"].StringValue())

	both := settings.FleetSettings{Name: "x", TokenConfigKey: "tok", TokenSecret: &settings.SecretKeyRef{Name: "y"}}
	assert.Contains(t, plan.Check(both.WithDefaults("t"), "fleet").Err().Error(), "fleet.tokenSecret: and tokenConfigKey both give an existing token")
}

func TestPodMonitor(t *testing.T) {
	s := groupFleet()
	s.Manager.Monitoring = settings.MonitoringSettings{Kind: "PodMonitor", Labels: map[string]string{"release": "prometheus"}, Interval: "30s"}
	s.Network.MetricsFrom = []string{"monitoring"}
	m := runFleetWith(t, valid(t, s), nil)
	monitor := m.Find(tCustomResource, "builds-monitor")
	require.NotNil(t, monitor)
	assert.Equal(t, "prometheus", mocks.String(monitor.Inputs, "metadata", "labels", "release"))
	endpoints, _ := mocks.Get(monitor.Inputs, "spec", "podMetricsEndpoints")
	assert.Equal(t, "metrics", endpoints.ArrayValue()[0].ObjectValue()["port"].StringValue())
	assert.Equal(t, "builds", mocks.String(monitor.Inputs, "spec", "selector", "matchLabels", "app.kubernetes.io/instance"))

	closed := groupFleet()
	closed.Manager.Monitoring.Kind = "ServiceMonitor"
	err := plan.Check(closed.WithDefaults("t"), "fleet").Err()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "add Prometheus's namespace to network.metricsFrom")
}

func TestExtraConfig(t *testing.T) {
	s := groupFleet()
	s.Executor.ExtraConfig = `
output_limit = 8192
[kubernetes]
  cleanup_resources_timeout = "10m"
[feature_flags]
  FF_TIMESTAMPS = true
`
	m := runFleetWith(t, valid(t, s), nil)
	text, runner := renderedTemplate(t, m, "builds")
	assert.Equal(t, int64(8192), runner["output_limit"])
	k := runner["kubernetes"].(map[string]any)
	assert.Equal(t, "10m", k["cleanup_resources_timeout"])
	assert.Equal(t, "gitlab-runner-builds-jobs", k["namespace"], "the fleet's own keys stay")
	assert.Equal(t, true, runner["feature_flags"].(map[string]any)["FF_TIMESTAMPS"])
	assert.True(t, strings.Contains(text, "FF_DISABLE_AUTOMATIC_TOKEN_ROTATION = true"))

	for extra, want := range map[string]string{
		"token = \"glrt-x\"":                               "token belongs to the fleet",
		"[kubernetes]\nnamespace = \"kube-system\"":        "kubernetes.namespace belongs to the fleet",
		"[kubernetes]\nprivileged = true":                  "kubernetes.privileged belongs to the fleet",
		"[kubernetes]\ncpu_limit = \"64\"":                 "kubernetes.cpu_limit has a typed setting",
		"[kubernetes]\nno_such_key = 1":                    "no_such_key: config.toml key",
		"[kubernetes]\n[[kubernetes.volumes.host_path]]\n": "kubernetes.volumes.host_path belongs to the fleet",
		"[feature_flags]\nFF_NOT_A_FLAG = true":            "FF_NOT_A_FLAG: feature flag FF_NOT_A_FLAG is not known",
		"not toml [":                                       "is not TOML",
	} {
		bad := groupFleet()
		bad.Executor.ExtraConfig = extra
		err := plan.Check(bad.WithDefaults("t"), "fleet").Err()
		require.Error(t, err, extra)
		assert.Contains(t, err.Error(), want, extra)
	}
	old := groupFleet()
	old.Manager.Image = "registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v18.6.0"
	old.Executor.ExtraConfig = "[kubernetes]\npod_cpu_limit = \"8\"\n[kubernetes.volumes]\n[[kubernetes.volumes.nfs]]\nname = \"n\""
	err := plan.Check(old.WithDefaults("t"), "fleet").Err()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "kubernetes.volumes.nfs: config.toml key")
	assert.Contains(t, err.Error(), "needs GitLab Runner 19.0 or later, but the managers run v18.6.0")
}

// The capabilities' parts of the manager pod come after the pod's own
// variables and volumes, by name: the order capabilities run in never
// changes the pod template (a change would roll the managers).
func TestCapabilitiesAddTheirPartsToThePodByName(t *testing.T) {
	s := groupFleet()
	s.Cache = settings.CacheSettings{Type: "s3", S3: &settings.S3CacheSettings{BucketName: "ci-cache", AccessKeyConfigKey: "cacheAccessKey", SecretKeyConfigKey: "cacheSecretKey"}}
	s.GitlabCA = &settings.CASettings{Secret: &settings.SecretKeyRef{Name: "gitlab-ca", Key: "bundle.pem"}}
	s.Manager.ImagePullSecrets = []string{"mirror-pull"}
	s.Manager.RegistryCredentialsConfigKey = "managerRegistry"
	m := runFleetWith(t, valid(t, s), map[string]string{"cacheAccessKey": "a", "cacheSecretKey": "b", "managerRegistry": `{"auths":{"r":{}}}`})
	pod := podSpecOf(t, m, "builds")
	var names []string
	for _, e := range managerContainer(t, m, "builds")["env"].ArrayValue() {
		names = append(names, e.ObjectValue()["name"].StringValue())
	}
	assert.Equal(t, []string{"CI_SERVER_URL", "POD_NAME", "POD_NAMESPACE", "CONFIG_DIR", "TEMPLATE_DIR", "RUNNER_TOKEN_FILE",
		"REGISTER_BUDGET_SECONDS", "DRAIN_SECONDS", "HOME", "CACHE_S3_ACCESS_KEY", "CACHE_S3_SECRET_KEY", "CI_SERVER_TLS_CA_FILE"}, names)
	var volumes []string
	for _, v := range pod["volumes"].ArrayValue() {
		volumes = append(volumes, v.ObjectValue()["name"].StringValue())
	}
	assert.Equal(t, []string{"config", "tmp", "templates", "scripts", "token", "gitlab-ca"}, volumes)
	var mounts []string
	for _, v := range managerContainer(t, m, "builds")["volumeMounts"].ArrayValue() {
		mounts = append(mounts, v.ObjectValue()["name"].StringValue())
	}
	assert.Equal(t, []string{"config", "tmp", "templates", "scripts", "token", "gitlab-ca"}, mounts)
	var pull []string
	for _, v := range pod["imagePullSecrets"].ArrayValue() {
		pull = append(pull, v.ObjectValue()["name"].StringValue())
	}
	assert.Equal(t, []string{"mirror-pull", "builds-registry"}, pull)
	ca := pod["volumes"].ArrayValue()[5].ObjectValue()["secret"].ObjectValue()
	assert.Equal(t, "gitlab-ca", ca["secretName"].StringValue(), "an existing Secret is mounted as it is")
	assert.Equal(t, "bundle.pem", ca["items"].ArrayValue()[0].ObjectValue()["key"].StringValue())
	assert.Nil(t, m.Find(tSecret, "builds-gitlab-ca"), "no Secret is made for an existing one")
}

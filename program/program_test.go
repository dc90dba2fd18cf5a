package program_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"example.com/gitlab-runner-fleet/components/fleet"
	"example.com/gitlab-runner-fleet/program"
	"example.com/gitlab-runner-fleet/tests/mocks"
)

const fleetsKey = "gitlab-runner-fleet:fleets"

// baseConfig is a valid stack; cases change one thing in it.
func baseConfig(fleets string) map[string]string {
	return map[string]string{
		"gitlab:baseUrl": "https://gitlab.example.com/api/v4/",
		fleetsKey:        fleets,
	}
}

const groupFleet = `{"name":"builds","runner":{"type":"group_type","groupId":42,"tags":["docker"]}}`

// fleetWith returns groupFleet with extra JSON fields merged in at the top level.
func fleetWith(t *testing.T, extra string) string {
	t.Helper()
	var base, more map[string]any
	require.NoError(t, json.Unmarshal([]byte(groupFleet), &base))
	require.NoError(t, json.Unmarshal([]byte(extra), &more))
	for k, v := range more {
		if sub, ok := v.(map[string]any); ok {
			if existing, ok := base[k].(map[string]any); ok {
				for sk, sv := range sub {
					existing[sk] = sv
				}
				continue
			}
		}
		base[k] = v
	}
	out, err := json.Marshal([]any{base})
	require.NoError(t, err)
	return string(out)
}

func TestMalformedConfigurationsAreRejectedBeforeAnyResource(t *testing.T) {
	type tc struct {
		name    string
		config  map[string]string
		secrets []string
		want    []string
	}
	fleet := func(extra string) map[string]string { return baseConfig(fleetWith(t, extra)) }
	with := func(c map[string]string, key, value string) map[string]string { c[key] = value; return c }
	without := func(c map[string]string, key string) map[string]string { delete(c, key); return c }
	cases := []tc{
		{"no fleets", without(baseConfig(""), fleetsKey), nil, []string{"fleets: is required"}},
		{"fleets not a list", baseConfig(`{"name":"x"}`), nil, []string{"fleets: must be a non-empty list"}},
		{"empty fleet list", baseConfig(`[]`), nil, []string{"fleets: must be a non-empty list"}},
		{"missing name", baseConfig(`[{"runner":{"type":"instance_type"}}]`), nil, []string{"fleets[0].name: is required"}},
		{"name not a DNS label", fleet(`{"name":"Builds_1"}`), nil, []string{"fleets[0].name: \"Builds_1\": a DNS-1035 label"}},
		{"name too long", fleet(`{"name":"` + strings.Repeat("a", 41) + `"}`), nil, []string{"fleets[0].name", "at most 40"}},
		{"duplicate names", baseConfig(`[` + groupFleet + `,` + groupFleet + `]`), nil, []string{"fleets[1].name: \"builds\" is already the name of fleets[0]"}},
		{"misspelt key", fleet(`{"manager":{"replica":3}}`), nil, []string{"fleets[0].manager.replica: unknown setting (did you mean \"replicas\"?)"}},
		{"unknown top-level key", fleet(`{"token":"x"}`), nil, []string{"fleets[0].token: unknown setting"}},
		{"wrong type", fleet(`{"manager":{"replicas":"two"}}`), nil, []string{"fleets[0].manager.replicas: must be a whole number"}},
		{"runner type missing", baseConfig(`[{"name":"x","runner":{"tags":["a"]}}]`), nil, []string{"fleets[0].runner.type: is required"}},
		{"runner type unknown", fleet(`{"runner":{"type":"shared"}}`), nil, []string{"fleets[0].runner.type: \"shared\" is not allowed: use one of instance_type, group_type, project_type"}},
		{"group runner without group", fleet(`{"runner":{"groupId":0}}`), nil, []string{"fleets[0].runner.groupId: must be a positive GitLab group id"}},
		{"project runner with group id", fleet(`{"runner":{"type":"project_type","projectId":7}}`), nil, []string{"fleets[0].runner.groupId: must not be set for a project_type runner"}},
		{"instance runner with project id", fleet(`{"runner":{"type":"instance_type","groupId":0,"projectId":7}}`), nil, []string{"instance_type runners take neither groupId nor projectId"}},
		{"maximum timeout too short", fleet(`{"runner":{"maximumTimeout":300}}`), nil, []string{"fleets[0].runner.maximumTimeout: must be at least 600"}},
		{"access level unknown", fleet(`{"runner":{"accessLevel":"protected"}}`), nil, []string{"fleets[0].runner.accessLevel: \"protected\" is not allowed"}},
		{"untagged off without tags", fleet(`{"runner":{"tags":[],"untagged":false}}`), nil, []string{"would never pick a job"}},
		{"tag with comma", fleet(`{"runner":{"tags":["a,b"]}}`), nil, []string{"fleets[0].runner.tags[0]: must not contain ','"}},
		{"latest image", fleet(`{"manager":{"image":"gitlab/gitlab-runner:latest"}}`), nil, []string{"fleets[0].manager.image", `the tag "latest" names no version`}},
		{"floating major version", fleet(`{"executor":{"image":"alpine:3"}}`), nil, []string{`fleets[0].executor.image: "alpine:3" is not pinned: the tag "3" names no version of at least major.minor`}},
		{"edge tag", fleet(`{"executor":{"image":"alpine:edge"}}`), nil, []string{`fleets[0].executor.image: "alpine:edge" is not pinned`}},
		{"empty digest", fleet(`{"executor":{"image":"alpine@sha256:"}}`), nil, []string{`fleets[0].executor.image: "alpine@sha256:" is not an image reference`}},
		{"manager tag too long for a label", fleet(`{"manager":{"image":"registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v19.3.0-` + strings.Repeat("x", 60) + `"}}`), nil,
			[]string{"fleets[0].manager.image: its tag", "cannot be the pods' app.kubernetes.io/version label: must be no more than 63 characters"}},
		{"untagged image", fleet(`{"executor":{"image":"alpine"}}`), nil, []string{"fleets[0].executor.image: \"alpine\" has no tag"}},
		{"too many replicas", fleet(`{"manager":{"replicas":100}}`), nil, []string{"fleets[0].manager.replicas: must be between 0 and 50, got 100"}},
		{"anti-affinity unknown", fleet(`{"manager":{"antiAffinity":"soft"}}`), nil, []string{"fleets[0].manager.antiAffinity: \"soft\" is not allowed: use one of preferred, required, none"}},
		{"log level unknown", fleet(`{"manager":{"logLevel":"verbose"}}`), nil, []string{"fleets[0].manager.logLevel"}},
		{"concurrency negative", fleet(`{"manager":{"concurrent":-1}}`), nil, []string{"fleets[0].manager.concurrent: must be between 1 and 1000"}},
		{"bad quantity", fleet(`{"executor":{"build":{"cpuRequest":"lots"}}}`), nil, []string{"fleets[0].executor.build.cpuRequest: \"lots\" is not a Kubernetes quantity"}},
		{"request above limit", fleet(`{"manager":{"resources":{"memoryRequest":"1Gi","memoryLimit":"512Mi"}}}`), nil, []string{"fleets[0].manager.resources.memoryRequest: (1Gi) must not exceed memoryLimit (512Mi)"}},
		{"namespace not a DNS label", fleet(`{"namespace":"Runners_NS"}`), nil, []string{"fleets[0].namespace: \"Runners_NS\""}},
		{"pull policy unknown", fleet(`{"executor":{"pullPolicy":["sometimes"]}}`), nil, []string{"fleets[0].executor.pullPolicy[0]: \"sometimes\" is not allowed"}},
		{"node selector key", fleet(`{"executor":{"nodeSelector":{"bad key!":"x"}}}`), nil, []string{"fleets[0].executor.nodeSelector: key \"bad key!\""}},
		{"toleration operator", fleet(`{"manager":{"tolerations":[{"key":"a","operator":"Maybe"}]}}`), nil, []string{"fleets[0].manager.tolerations[0].operator: \"Maybe\" is not allowed"}},
		{"toleration exists with value", fleet(`{"executor":{"tolerations":[{"key":"a","operator":"Exists","value":"b"}]}}`), nil, []string{"fleets[0].executor.tolerations[0].value: must be empty with operator Exists"}},
		{"feature flag name", fleet(`{"executor":{"featureFlags":{"ff_lower":true}}}`), nil, []string{"\"ff_lower\" is not a feature flag name"}},
		{"unsupported feature flag", fleet(`{"executor":{"featureFlags":{"FF_SUSPENDABLE_ENVIRONMENTS":true}}}`), nil, []string{"FF_SUSPENDABLE_ENVIRONMENTS needs configmaps"}},
		{"privileged jobs under baseline", fleet(`{"executor":{"privileged":true,"podSecurity":"baseline"}}`), nil, []string{"fleets[0].executor.podSecurity: is \"baseline\" but privileged job containers need the privileged level"}},
		{"grace period shorter than jobs", fleet(`{"runner":{"maximumTimeout":7200},"manager":{"terminationGracePeriodSeconds":3600}}`), nil,
			[]string{"fleets[0].manager.terminationGracePeriodSeconds: is 3600, which leaves a stopping manager 3560 seconds", "raise it to at least 7240"}},
		{"grace period without room for the forceful stop", fleet(`{"runner":{"maximumTimeout":3600},"manager":{"terminationGracePeriodSeconds":3600}}`), nil,
			[]string{"fleets[0].manager.terminationGracePeriodSeconds", "after shutdownTimeout (30) and a 10-second margin"}},
		{"managers and jobs in one namespace", fleet(`{"namespace":"ci","jobNamespace":"ci"}`), nil,
			[]string{`fleets[0].jobNamespace: namespace "ci" holds runner managers (fleets[0].namespace)`}},
		{"one fleet's jobs beside another fleet's managers", baseConfig(`[` + groupFleet + `,{"name":"builds-jobs","runner":{"type":"instance_type"}}]`), nil,
			[]string{`fleets[0].jobNamespace: namespace "gitlab-runner-builds-jobs" holds runner managers (fleets[1].namespace)`}},
		{"jobs in kube-system", fleet(`{"jobNamespace":"kube-system"}`), nil, []string{`fleets[0].jobNamespace: "kube-system" is a system namespace: job pods must not run there`}},
		{"jobs in default", fleet(`{"jobNamespace":"default"}`), nil, []string{`fleets[0].jobNamespace: "default" is a system namespace`}},
		{"managers in kube-public", fleet(`{"namespace":"kube-public"}`), nil, []string{`fleets[0].namespace: "kube-public" is a system namespace: the runner managers must not run there`}},
		{"digest without runner version", fleet(`{"manager":{"image":"registry.gitlab.com/gitlab-org/gitlab-runner@sha256:` + strings.Repeat("a", 64) + `"}}`), nil,
			[]string{"fleets[0].manager.runnerVersion: is required: the tag of", "names no GitLab Runner release"}},
		{"runner version disagrees with the tag", fleet(`{"manager":{"runnerVersion":"v19.2.0"}}`), nil,
			[]string{"fleets[0].manager.runnerVersion: is v19.2.0 but the image tag says v19.3.0"}},
		{"runner version not a release", fleet(`{"manager":{"image":"mirror.example.com/gitlab-runner:prod","runnerVersion":"19"}}`), nil,
			[]string{`fleets[0].manager.runnerVersion: "19" is not a GitLab Runner release`}},
		{"runner too old", fleet(`{"manager":{"image":"registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v16.11.0"}}`), nil,
			[]string{"fleets[0].manager.image: runs GitLab Runner v16.11.0; the fleet needs 17.0 or later"}},
		{"option newer than the runner", fleet(`{"manager":{"image":"registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v18.6.0"},"executor":{"podDisruptionBudget":true}}`), nil,
			[]string{"fleets[0].executor: runners.kubernetes.pod_disruption_budget: config.toml key KubernetesConfig.pod_disruption_budget needs GitLab Runner 18.11 or later, but the managers run v18.6.0"}},
		{"feature flag newer than the runner", fleet(`{"manager":{"image":"registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v18.6.0"},"executor":{"featureFlags":{"FF_CONCRETE":true}}}`), nil,
			[]string{"runners.feature_flags.FF_CONCRETE: feature flag FF_CONCRETE needs GitLab Runner 18.11 or later"}},
		{"runner-side token rotation", fleet(`{"executor":{"featureFlags":{"FF_DISABLE_AUTOMATIC_TOKEN_ROTATION":false}}}`), nil,
			[]string{"FF_DISABLE_AUTOMATIC_TOKEN_ROTATION is set to true by the fleet"}},
		{"restricted jobs that may escalate", fleet(`{"executor":{"podSecurity":"restricted","allowPrivilegeEscalation":true}}`), nil,
			[]string{`fleets[0].executor.podSecurity: the job namespace "gitlab-runner-builds-jobs" enforces "restricted", which would reject every job pod`, "allowPrivilegeEscalation != false"}},
		{"non-root jobs as root", fleet(`{"executor":{"runAsUser":0,"runAsNonRoot":true}}`), nil,
			[]string{"fleets[0].executor.runAsUser: is 0 (root) but runAsNonRoot is true"}},
		{"privileged jobs that may not escalate", fleet(`{"executor":{"privileged":true,"allowPrivilegeEscalation":false}}`), nil,
			[]string{"fleets[0].executor.allowPrivilegeEscalation: is false but privileged containers always can escalate"}},
		{"rotation period unreadable", fleet(`{"runner":{"rotateEvery":"monthly"}}`), nil,
			[]string{`fleets[0].runner.rotateEvery: "monthly" is not a duration such as "30d"`}},
		{"rotation period too short", fleet(`{"runner":{"rotateEvery":"30s"}}`), nil, []string{`fleets[0].runner.rotateEvery: "30s" is shorter than 1m0s`}},
		{"rotating an existing token", with(baseConfig(`[{"name":"x","tokenConfigKey":"tok","runner":{"rotateEvery":"30d"}}]`), "gitlab-runner-fleet:tok", "glrt-x"),
			[]string{"gitlab-runner-fleet:tok"}, []string{"fleets[0].runner.rotateEvery: cannot rotate an existing token"}},
		{"rollout timeout negative", fleet(`{"manager":{"rolloutTimeout":-5}}`), nil, []string{"fleets[0].manager.rolloutTimeout: must be between 0 and 604800, got -5"}},
		{"manager pod label owned by the fleet", fleet(`{"manager":{"podLabels":{"app.kubernetes.io/instance":"other"}}}`), nil,
			[]string{`fleets[0].manager.podLabels: key "app.kubernetes.io/instance": the app.kubernetes.io/ labels belong to the fleet`}},
		{"poll timeout below interval", fleet(`{"executor":{"pollInterval":30,"pollTimeout":10}}`), nil, []string{"fleets[0].executor.pollTimeout: (10) must be at least pollInterval (30)"}},
		{"root user", fleet(`{"manager":{"runAsUser":0}}`), nil, []string{"fleets[0].manager.runAsUser: must be a positive non-root id"}},
		{"existing token with runner settings", baseConfig(`[{"name":"x","tokenConfigKey":"tok","runner":{"type":"group_type"}}]`),
			nil, []string{"fleets[0].runner: must be empty with an existing token"}},
		{"existing token not set", baseConfig(`[{"name":"x","tokenConfigKey":"tok"}]`), nil, []string{"fleets[0].tokenConfigKey: names gitlab-runner-fleet:tok, which is not set"}},
		{"existing token in plain text", with(baseConfig(`[{"name":"x","tokenConfigKey":"tok"}]`), "gitlab-runner-fleet:tok", "glrt-plain"),
			nil, []string{"which is stored in plain text"}},
		{"registration token", with(baseConfig(`[{"name":"x","tokenConfigKey":"tok"}]`), "gitlab-runner-fleet:tok", "GR1348941abc"),
			[]string{"gitlab-runner-fleet:tok"}, []string{"registration tokens are not supported"}},
		{"gitlab token in plain text", with(baseConfig(`[`+groupFleet+`]`), "gitlab:token", "glpat-plain"), nil, []string{"gitlab:token: is stored in plain text"}},
		{"no GitLab URL", without(baseConfig(`[`+groupFleet+`]`), "gitlab:baseUrl"), nil, []string{"gitlabUrl (or gitlab:baseUrl): is required"}},
		{"GitLab URL not http", with(baseConfig(`[`+groupFleet+`]`), "gitlab-runner-fleet:gitlabUrl", "ftp://gitlab"), nil, []string{"gitlabUrl (or gitlab:baseUrl): must be an http(s) URL"}},
		{"GitLab URL plain http", with(baseConfig(`[`+groupFleet+`]`), "gitlab-runner-fleet:gitlabUrl", "http://gitlab.example.com/"), nil,
			[]string{`"http://gitlab.example.com/" is plain http`, "accepted on loopback only"}},
		{"GitLab URL with credentials", with(baseConfig(`[`+groupFleet+`]`), "gitlab-runner-fleet:gitlabUrl", "https://ci:s3cret-pass@gitlab.example.com/"), nil,
			[]string{`"https://ci:xxxxx@gitlab.example.com/" carries credentials`}},
		{"pasted token as tokenConfigKey", baseConfig(`[{"name":"x","tokenConfigKey":"glrt-pasted-token-123"}]`), nil,
			[]string{"fleets[0].tokenConfigKey: holds what looks like a token, not the name of a setting"}},
		{"jobs of different trust in one namespace", baseConfig(`[` + fleetWith(t, `{"jobNamespace":"shared-jobs"}`)[1:len(fleetWith(t, `{"jobNamespace":"shared-jobs"}`))-1] +
			`,{"name":"release","jobNamespace":"shared-jobs","runner":{"type":"project_type","projectId":7,"locked":true,"accessLevel":"ref_protected"}}]`), nil,
			[]string{`fleets[1].jobNamespace: shares job namespace "shared-jobs" with fleets[0] but not its trust (project 7, ref_protected, locked=true here, group 42, not_protected, locked=false there)`}},
		{"existing token sharing jobs", with(baseConfig(`[`+fleetWith(t, `{"jobNamespace":"shared-jobs"}`)[1:len(fleetWith(t, `{"jobNamespace":"shared-jobs"}`))-1]+
			`,{"name":"other","jobNamespace":"shared-jobs","tokenConfigKey":"tok"}]`), "gitlab-runner-fleet:tok", "glrt-x"), []string{"gitlab-runner-fleet:tok"},
			[]string{`fleets[1].jobNamespace: shares job namespace "shared-jobs" with fleets[0] but not its trust (existing token tok here`}},
		{"privileged jobs without a pool", fleet(`{"executor":{"privileged":true}}`), nil,
			[]string{"fleets[0].executor.privileged: privileged jobs are root on their node: they need a node pool of their own"}},
		{"managers on the privileged pool", baseConfig(`[{"name":"dind","runner":{"type":"instance_type"},"executor":{"privileged":true,"nodeSelector":{"pool":"dind"},"tolerations":[{"key":"dind","operator":"Exists","effect":"NoSchedule"}]}},` +
			`{"name":"other","runner":{"type":"instance_type"},"manager":{"tolerations":[{"key":"dind","operator":"Exists","effect":"NoSchedule"}]}}]`), nil,
			[]string{"fleets[1].manager.tolerations: tolerates the taint dind of fleets[0]'s privileged job pool"}},
		{"network range unreadable", fleet(`{"network":{"jobEgressCidrs":["10.0.0.0/33"]}}`), nil, []string{`fleets[0].network.jobEgressCidrs[0]: "10.0.0.0/33" is not an address range`}},
		{"network settings without policies", fleet(`{"network":{"policies":false,"metricsFrom":["monitoring"]}}`), nil,
			[]string{"fleets[0].network.policies: is false, so the other network settings would do nothing"}},
		{"quota unreadable", fleet(`{"executor":{"quota":{"cpu":"many"}}}`), nil, []string{`fleets[0].executor.quota.cpu: "many" is not a Kubernetes quantity`}},
		{"quota totals without quota", fleet(`{"executor":{"quota":{"enabled":false,"pods":5}}}`), nil, []string{"fleets[0].executor.quota.enabled: is false"}},
		{"cache settings without a type", fleet(`{"cache":{"s3":{"bucketName":"b"}}}`), nil, []string{"fleets[0].cache.type: is required with the other cache settings"}},
		{"s3 cache without a bucket", fleet(`{"cache":{"type":"s3","existingSecret":"k","s3":{}}}`), nil, []string{"fleets[0].cache.s3.bucketName: is required"}},
		{"s3 cache without credentials", fleet(`{"cache":{"type":"s3","s3":{"bucketName":"b"}}}`), nil,
			[]string{"fleets[0].cache.s3: needs credentials: accessKeyConfigKey and secretKeyConfigKey, cache.existingSecret, or authenticationType: iam"}},
		{"s3 cache with half the keys", fleet(`{"cache":{"type":"s3","s3":{"bucketName":"b","accessKeyConfigKey":"a"}}}`), nil,
			[]string{"fleets[0].cache: s3.accessKeyConfigKey and s3.secretKeyConfigKey go together"}},
		{"s3 cache key not set", fleet(`{"cache":{"type":"s3","s3":{"bucketName":"b","accessKeyConfigKey":"a","secretKeyConfigKey":"b"}}}`), nil,
			[]string{"fleets[0].cache.s3.accessKeyConfigKey: names gitlab-runner-fleet:a, which is not set; run `pulumi config set --secret a <value>`"}},
		{"cache type and backend differ", fleet(`{"cache":{"type":"gcs","existingSecret":"k","s3":{"bucketName":"b"}}}`), nil,
			[]string{`fleets[0].cache.s3: is set but the cache type is "gcs"`, "fleets[0].cache.gcs: is required for a gcs cache"}},
		{"CA from two places", fleet(`{"gitlabCA":{"configKey":"ca","secret":{"name":"ca"}}}`), nil, []string{"fleets[0].gitlabCA: needs exactly one of configKey"}},
		{"CA that is no certificate", with(baseConfig(fleetWith(t, `{"gitlabCA":{"configKey":"gitlabCA"}}`)), "gitlab-runner-fleet:gitlabCA", "hello"), nil,
			[]string{"fleets[0].gitlabCA.configKey: names gitlab-runner-fleet:gitlabCA, which holds no PEM certificate"}},
		{"registry credentials not a Docker config", with(baseConfig(fleetWith(t, `{"executor":{"registryCredentialsConfigKey":"reg"}}`)), "gitlab-runner-fleet:reg", "user:pass"),
			[]string{"gitlab-runner-fleet:reg"}, []string{"fleets[0].executor.registryCredentialsConfigKey: names gitlab-runner-fleet:reg, which is not a Docker config JSON"}},
		{"helper image not pinned", fleet(`{"executor":{"helperImage":"mirror.example.com/helper:latest"}}`), nil, []string{"fleets[0].executor.helperImage"}},
		{"job ServiceAccount annotations without one", fleet(`{"executor":{"serviceAccountAnnotations":{"iam.gke.io/gcp-service-account":"ci@p.iam.gserviceaccount.com"}}}`), nil,
			[]string{"fleets[0].executor.serviceAccountAnnotations: need executor.serviceAccount"}},
		{"docker-in-docker without privileges", fleet(`{"executor":{"dockerInDocker":true}}`), nil, []string{"fleets[0].executor.dockerInDocker: needs privileged: true"}},
		{"host alias not an address", fleet(`{"executor":{"hostAliases":[{"ip":"gitlab","hostnames":["g"]}]}}`), nil, []string{`fleets[0].executor.hostAliases[0].ip: "gitlab" is not an IP address`}},
		{"node affinity operator", fleet(`{"executor":{"nodeAffinity":[{"key":"a","operator":"Near","values":["b"]}]}}`), nil, []string{`fleets[0].executor.nodeAffinity[0].operator: "Near" is not allowed`}},
		{"dns policy None without servers", fleet(`{"executor":{"dnsPolicy":"None","dnsConfig":{"searches":["x"]}}}`), nil, []string{"fleets[0].executor.dnsConfig.nameservers: are required with dnsPolicy None"}},
		{"monitoring kind unknown", fleet(`{"manager":{"monitoring":{"kind":"Probe"}},"network":{"metricsFrom":["m"]}}`), nil, []string{`fleets[0].manager.monitoring.kind: "Probe" is not allowed`}},
		{"existing token Secret with runner settings", baseConfig(`[{"name":"x","tokenSecret":{"name":"t"},"runner":{"type":"group_type"}}]`), nil,
			[]string{"fleets[0].runner: must be empty with an existing token"}},
		{"extra config overriding the token", fleet(`{"executor":{"extraConfig":"token = \"glrt-x\""}}`), nil, []string{"fleets[0].executor.extraConfig: token belongs to the fleet"}},
		{"api server setting malformed", with(baseConfig(`[`+groupFleet+`]`), "gitlab-runner-fleet:apiServer", `{"cidrs":["10.0.0.1"],"port":0}`), nil,
			[]string{`apiServer.cidrs[0]: "10.0.0.1" is not an address range`, "apiServer.port: must be a TCP port, got 0"}},
		{"namespace created and not created", baseConfig(`[` + groupFleet + `,{"name":"other","namespace":"gitlab-runner-builds","createNamespace":false,"runner":{"type":"instance_type"}}]`),
			nil, []string{"fleets[1].namespace: namespace \"gitlab-runner-builds\" is created by one fleet and expected to exist by another"}},
		{"jobs of two fleets under different levels", baseConfig(`[` + fleetWith(t, `{"jobNamespace":"jobs"}`)[1:len(fleetWith(t, `{"jobNamespace":"jobs"}`))-1] +
			`,{"name":"other","jobNamespace":"jobs","runner":{"type":"instance_type"},"executor":{"podSecurity":"restricted"}}]`),
			nil, []string{"fleets[1].jobNamespace: jobs of several fleets run in namespace \"jobs\" with different executor.podSecurity levels"}},
		{"several problems at once", fleet(`{"manager":{"replicas":-1,"logFormat":"xml"},"runner":{"maximumTimeout":1}}`), nil,
			[]string{"3 problem(s)", "manager.replicas", "manager.logFormat", "runner.maximumTimeout"}},
	}
	require.GreaterOrEqual(t, len(cases), 25)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := mocks.Run(program.Run, c.config, c.secrets)
			require.Error(t, err)
			for _, want := range c.want {
				assert.Contains(t, err.Error(), want)
			}
			assert.Empty(t, m.All(), "bad config registers nothing")
			for _, v := range c.config {
				if strings.HasPrefix(v, "glrt-") || strings.HasPrefix(v, "glpat-") {
					assert.NotContains(t, err.Error(), v, "secrets never appear in errors")
				}
			}
			for _, secret := range []string{"glrt-pasted-token-123", "s3cret-pass"} {
				assert.NotContains(t, err.Error(), secret, "secrets never appear in errors")
			}
		})
	}
}

func TestSeveralFleetsShareNamespacesWithoutCollisions(t *testing.T) {
	// Managers of any trust may share a namespace; jobs only among equals.
	config := baseConfig(`[
		{"name":"group-a","namespace":"runners","jobNamespace":"jobs","runner":{"type":"group_type","groupId":1,"tags":["a"]}},
		{"name":"group-b","namespace":"runners","jobNamespace":"jobs","runner":{"type":"group_type","groupId":1,"tags":["b"]}},
		{"name":"existing","namespace":"runners","jobNamespace":"existing-jobs","tokenConfigKey":"existingToken"}
	]`)
	config["gitlab-runner-fleet:existingToken"] = "glrt-existing"
	m, err := mocks.Run(program.Run, config, []string{"gitlab-runner-fleet:existingToken"})
	require.NoError(t, err)

	namespaces := m.OfType("kubernetes:core/v1:Namespace")
	require.Len(t, namespaces, 3, "each shared namespace is created once")
	for _, ns := range namespaces {
		owner := "group-a"
		if mocks.String(ns.Inputs, "metadata", "name") == "existing-jobs" {
			owner = "existing"
		}
		assert.Equal(t, owner, ns.ParentName, "by the first fleet naming it")
	}
	assert.Len(t, m.OfType("gitlab:index/userRunner:UserRunner"), 2, "no runner for the existing token")

	seen := map[string]string{}
	for _, r := range m.All() {
		if !r.Custom {
			continue
		}
		urnKey := r.Type + "::" + r.Name
		assert.NotContains(t, seen, urnKey, "logical names collide")
		seen[urnKey] = r.ParentName
		if name := mocks.String(r.Inputs, "metadata", "name"); name != "" {
			objKey := r.Type + "/" + mocks.String(r.Inputs, "metadata", "namespace") + "/" + name
			assert.NotContains(t, seen, objKey, "Kubernetes names collide")
			seen[objKey] = r.ParentName
		}
	}
	for _, fleet := range []string{"group-b", "existing"} {
		sts := m.Find("kubernetes:apps/v1:StatefulSet", fleet)
		require.NotNil(t, sts)
		assert.Equal(t, "runners", mocks.String(sts.Inputs, "metadata", "namespace"))
		hasNamespaceDep := false
		for _, d := range sts.Dependencies {
			hasNamespaceDep = hasNamespaceDep || strings.HasSuffix(d, "kubernetes:core/v1:Namespace::runners")
		}
		assert.True(t, hasNamespaceDep, "%s waits for the namespace created by group-a", fleet)
	}
	secret := m.Find("kubernetes:core/v1:Secret", "existing-token")
	require.NotNil(t, secret)
	assert.True(t, mocks.ContainsSecret(secret.Inputs["stringData"]))
	assert.Equal(t, "glrt-existing", mocks.String(secret.Inputs, "stringData", "runner-token"))
	assert.Len(t, m.OfType(fleet.RunnerFleetType), 3, "one component per fleet")
}

func TestGitlabURLDefaultsToTheProviderBaseURL(t *testing.T) {
	m, err := mocks.Run(program.Run, baseConfig(`[`+groupFleet+`]`), nil)
	require.NoError(t, err)
	sts := m.Find("kubernetes:apps/v1:StatefulSet", "builds")
	require.NotNil(t, sts)
	containers, _ := mocks.Get(sts.Inputs, "spec", "template", "spec", "containers")
	env := containers.ArrayValue()[0].ObjectValue()["env"].ArrayValue()
	assert.Equal(t, "CI_SERVER_URL", env[0].ObjectValue()["name"].StringValue())
	assert.Equal(t, "https://gitlab.example.com/", env[0].ObjectValue()["value"].StringValue())
}

func TestUpReportsTheRolloutFromTheFleetsCluster(t *testing.T) {
	var asked []program.KubeAccess
	var mu sync.Mutex
	opts := program.Options{Kube: func(a program.KubeAccess) (kubernetes.Interface, error) {
		mu.Lock()
		asked = append(asked, a)
		mu.Unlock()
		replicas := int32(2)
		return fake.NewClientset(&appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Name: "builds", Namespace: "gitlab-runner-builds"},
			Spec: appsv1.StatefulSetSpec{Replicas: &replicas,
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/instance": "builds"}}},
		}), nil
	}}
	config := baseConfig(`[` + groupFleet + `]`)
	config["kubernetes:context"] = "production"
	_, err := mocks.Run(opts.Run, config, nil)
	require.NoError(t, err)
	assert.Equal(t, []program.KubeAccess{{Context: "production"}}, asked, "read once, from the cluster the provider deploys to")

	asked = nil
	_, err = mocks.RunPreview(opts.Run, config, nil)
	require.NoError(t, err)
	assert.Empty(t, asked, "a preview reads nothing")
}

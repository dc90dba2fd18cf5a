package settings_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// groupFleet is a valid fleet; cases change one thing in it.
const groupFleet = `{"name":"builds","runner":{"type":"group_type","groupId":42,"tags":["docker"]}}`

// fleetWith returns the fleets setting holding groupFleet with extra JSON
// fields merged in at the top level (and one level down).
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

// planned decodes a fleets setting, completes it with defaults and plans it,
// as the program does (less the checks of the rendered configuration, which
// are runnerconfig's).
func planned(fleets string) settings.Problems {
	decoded, ps := settings.DecodeFleets(fleets)
	defaulted := make([]settings.FleetSettings, len(decoded))
	for i, f := range decoded {
		defaulted[i] = f.WithDefaults("test")
	}
	_, more := settings.PlanFleets(defaulted)
	return append(ps, more...)
}

// Every malformed setting is refused with a message that names it and the
// fix; every problem of the fleets is reported at once.
func TestMalformedSettingsAreRefused(t *testing.T) {
	type tc struct {
		name   string
		fleets string
		want   []string
	}
	fleet := func(extra string) string { return fleetWith(t, extra) }
	fleetsJSON := func(fleets string) string { return fleets }
	cases := []tc{
		{"fleets not a list", fleetsJSON(`{"name":"x"}`), []string{"fleets: must be a non-empty list"}},
		{"empty fleet list", fleetsJSON(`[]`), []string{"fleets: must be a non-empty list"}},
		{"missing name", fleetsJSON(`[{"runner":{"type":"instance_type"}}]`), []string{"fleets[0].name: is required"}},
		{"name not a DNS label", fleet(`{"name":"Builds_1"}`), []string{"fleets[0] (Builds_1).name: \"Builds_1\": a DNS-1035 label"}},
		{"name too long", fleet(`{"name":"` + strings.Repeat("a", 41) + `"}`), []string{"fleets[0] (" + strings.Repeat("a", 41) + ").name", "at most 40"}},
		{"duplicate names", fleetsJSON(`[` + groupFleet + `,` + groupFleet + `]`), []string{"fleets[1] (builds).name: \"builds\" is already the name of fleets[0]"}},
		{"misspelt key", fleet(`{"manager":{"replica":3}}`), []string{"fleets[0] (builds).manager.replica: unknown setting (did you mean \"replicas\"?)"}},
		{"unknown top-level key", fleet(`{"token":"x"}`), []string{"fleets[0] (builds).token: unknown setting"}},
		{"wrong type", fleet(`{"manager":{"replicas":"two"}}`), []string{"fleets[0] (builds).manager.replicas: must be a whole number"}},
		{"runner type missing", fleetsJSON(`[{"name":"x","runner":{"tags":["a"]}}]`), []string{"fleets[0] (x).runner.type: is required"}},
		{"runner type unknown", fleet(`{"runner":{"type":"shared"}}`), []string{"fleets[0] (builds).runner.type: \"shared\" is not allowed: use one of instance_type, group_type, project_type"}},
		{"group runner without group", fleet(`{"runner":{"groupId":0}}`), []string{"fleets[0] (builds).runner.groupId: must be a positive GitLab group id"}},
		{"project runner with group id", fleet(`{"runner":{"type":"project_type","projectId":7}}`), []string{"fleets[0] (builds).runner.groupId: must not be set for a project_type runner"}},
		{"instance runner with project id", fleet(`{"runner":{"type":"instance_type","groupId":0,"projectId":7}}`), []string{"instance_type runners take neither groupId nor projectId"}},
		{"maximum timeout too short", fleet(`{"runner":{"maximumTimeout":300}}`), []string{"fleets[0] (builds).runner.maximumTimeout: must be at least 600"}},
		{"access level unknown", fleet(`{"runner":{"accessLevel":"protected"}}`), []string{"fleets[0] (builds).runner.accessLevel: \"protected\" is not allowed"}},
		{"untagged off without tags", fleet(`{"runner":{"tags":[],"untagged":false}}`), []string{"would never pick a job"}},
		{"tag with comma", fleet(`{"runner":{"tags":["a,b"]}}`), []string{"fleets[0] (builds).runner.tags[0]: must not contain ','"}},
		{"latest image", fleet(`{"manager":{"image":"gitlab/gitlab-runner:latest"}}`), []string{"fleets[0] (builds).manager.image", `the tag "latest" names no version`}},
		{"floating major version", fleet(`{"executor":{"image":"alpine:3"}}`), []string{`fleets[0] (builds).executor.image: "alpine:3" is not pinned: the tag "3" names no version of at least major.minor`}},
		{"edge tag", fleet(`{"executor":{"image":"alpine:edge"}}`), []string{`fleets[0] (builds).executor.image: "alpine:edge" is not pinned`}},
		{"empty digest", fleet(`{"executor":{"image":"alpine@sha256:"}}`), []string{`fleets[0] (builds).executor.image: "alpine@sha256:" is not an image reference`}},
		{"manager tag too long for a label", fleet(`{"manager":{"image":"registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v19.3.0-` + strings.Repeat("x", 60) + `"}}`),
			[]string{"fleets[0] (builds).manager.image: its tag", "cannot be the pods' app.kubernetes.io/version label: must be no more than 63 characters"}},
		{"untagged image", fleet(`{"executor":{"image":"alpine"}}`), []string{"fleets[0] (builds).executor.image: \"alpine\" has no tag"}},
		{"too many replicas", fleet(`{"manager":{"replicas":100}}`), []string{"fleets[0] (builds).manager.replicas: must be between 0 and 50, got 100"}},
		{"anti-affinity unknown", fleet(`{"manager":{"antiAffinity":"soft"}}`), []string{"fleets[0] (builds).manager.antiAffinity: \"soft\" is not allowed: use one of preferred, required, none"}},
		{"log level unknown", fleet(`{"manager":{"logLevel":"verbose"}}`), []string{"fleets[0] (builds).manager.logLevel"}},
		{"concurrency negative", fleet(`{"manager":{"concurrent":-1}}`), []string{"fleets[0] (builds).manager.concurrent: must be between 1 and 1000"}},
		{"bad quantity", fleet(`{"executor":{"build":{"cpuRequest":"lots"}}}`), []string{"fleets[0] (builds).executor.build.cpuRequest: \"lots\" is not a Kubernetes quantity"}},
		{"request above limit", fleet(`{"manager":{"resources":{"memoryRequest":"1Gi","memoryLimit":"512Mi"}}}`), []string{"fleets[0] (builds).manager.resources.memoryRequest: (1Gi) must not exceed memoryLimit (512Mi)"}},
		{"namespace not a DNS label", fleet(`{"namespace":"Runners_NS"}`), []string{"fleets[0] (builds).namespace: \"Runners_NS\""}},
		{"pull policy unknown", fleet(`{"executor":{"pullPolicy":["sometimes"]}}`), []string{"fleets[0] (builds).executor.pullPolicy[0]: \"sometimes\" is not allowed"}},
		{"node selector key", fleet(`{"executor":{"nodeSelector":{"bad key!":"x"}}}`), []string{"fleets[0] (builds).executor.nodeSelector: key \"bad key!\""}},
		{"toleration operator", fleet(`{"manager":{"tolerations":[{"key":"a","operator":"Maybe"}]}}`), []string{"fleets[0] (builds).manager.tolerations[0].operator: \"Maybe\" is not allowed"}},
		{"toleration exists with value", fleet(`{"executor":{"tolerations":[{"key":"a","operator":"Exists","value":"b"}]}}`), []string{"fleets[0] (builds).executor.tolerations[0].value: must be empty with operator Exists"}},
		{"feature flag name", fleet(`{"executor":{"featureFlags":{"ff_lower":true}}}`), []string{"\"ff_lower\" is not a feature flag name"}},
		{"unsupported feature flag", fleet(`{"executor":{"featureFlags":{"FF_SUSPENDABLE_ENVIRONMENTS":true}}}`), []string{"FF_SUSPENDABLE_ENVIRONMENTS needs configmaps"}},
		{"privileged jobs under baseline", fleet(`{"executor":{"privileged":true,"podSecurity":"baseline"}}`), []string{"fleets[0] (builds).executor.podSecurity: is \"baseline\" but privileged job containers need the privileged level"}},
		{"grace period shorter than jobs", fleet(`{"runner":{"maximumTimeout":7200},"manager":{"terminationGracePeriodSeconds":3600}}`),
			[]string{"fleets[0] (builds).manager.terminationGracePeriodSeconds: is 3600, which leaves a stopping manager 3560 seconds", "raise it to at least 7240"}},
		{"grace period without room for the forceful stop", fleet(`{"runner":{"maximumTimeout":3600},"manager":{"terminationGracePeriodSeconds":3600}}`),
			[]string{"fleets[0] (builds).manager.terminationGracePeriodSeconds", "after shutdownTimeout (30) and a 10-second margin"}},
		{"managers and jobs in one namespace", fleet(`{"namespace":"ci","jobNamespace":"ci"}`),
			[]string{`fleets[0] (builds).jobNamespace: namespace "ci" holds runner managers (fleets[0] (builds).namespace)`}},
		{"one fleet's jobs beside another fleet's managers", fleetsJSON(`[` + groupFleet + `,{"name":"builds-jobs","runner":{"type":"instance_type"}}]`),
			[]string{`fleets[0] (builds).jobNamespace: namespace "gitlab-runner-builds-jobs" holds runner managers (fleets[1] (builds-jobs).namespace)`}},
		{"jobs in kube-system", fleet(`{"jobNamespace":"kube-system"}`), []string{`fleets[0] (builds).jobNamespace: "kube-system" is a system namespace: job pods must not run there`}},
		{"jobs in default", fleet(`{"jobNamespace":"default"}`), []string{`fleets[0] (builds).jobNamespace: "default" is a system namespace`}},
		{"managers in kube-public", fleet(`{"namespace":"kube-public"}`), []string{`fleets[0] (builds).namespace: "kube-public" is a system namespace: the runner managers must not run there`}},
		{"digest without runner version", fleet(`{"manager":{"image":"registry.gitlab.com/gitlab-org/gitlab-runner@sha256:` + strings.Repeat("a", 64) + `"}}`),
			[]string{"fleets[0] (builds).manager.runnerVersion: is required: the tag of", "names no GitLab Runner release"}},
		{"runner version disagrees with the tag", fleet(`{"manager":{"runnerVersion":"v19.2.0"}}`),
			[]string{"fleets[0] (builds).manager.runnerVersion: is v19.2.0 but the image tag says v19.3.0"}},
		{"runner version not a release", fleet(`{"manager":{"image":"mirror.example.com/gitlab-runner:prod","runnerVersion":"19"}}`),
			[]string{`fleets[0] (builds).manager.runnerVersion: "19" is not a GitLab Runner release`}},
		{"runner too old", fleet(`{"manager":{"image":"registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v16.11.0"}}`),
			[]string{"fleets[0] (builds).manager.image: runs GitLab Runner v16.11.0; the fleet needs 17.0 or later"}},
		{"runner-side token rotation", fleet(`{"executor":{"featureFlags":{"FF_DISABLE_AUTOMATIC_TOKEN_ROTATION":false}}}`),
			[]string{"FF_DISABLE_AUTOMATIC_TOKEN_ROTATION is set to true by the fleet"}},
		{"non-root jobs as root", fleet(`{"executor":{"runAsUser":0,"runAsNonRoot":true}}`),
			[]string{"fleets[0] (builds).executor.runAsUser: is 0 (root) but runAsNonRoot is true"}},
		{"privileged jobs that may not escalate", fleet(`{"executor":{"privileged":true,"allowPrivilegeEscalation":false}}`),
			[]string{"fleets[0] (builds).executor.allowPrivilegeEscalation: is false but privileged containers always can escalate"}},
		{"rotation period unreadable", fleet(`{"runner":{"rotateEvery":"monthly"}}`),
			[]string{`fleets[0] (builds).runner.rotateEvery: "monthly" is not a duration such as "30d"`}},
		{"rotation period too short", fleet(`{"runner":{"rotateEvery":"30s"}}`), []string{`fleets[0] (builds).runner.rotateEvery: "30s" is shorter than 1m0s`}},
		{"a maintenance note too long for GitLab", fleet(`{"runner":{"maintenanceNote":"` + strings.Repeat("n", 1025) + `"}}`),
			[]string{"fleets[0] (builds).runner.maintenanceNote: must be at most 1024 characters, got 1025"}},
		{"a maintenance note without room for the rotation period", fleet(`{"runner":{"rotateEvery":"30d","maintenanceNote":"` + strings.Repeat("n", 1000) + `"}}`),
			[]string{"fleets[0] (builds).runner.maintenanceNote: must be at most 895 characters, got 1000 (with rotateEvery the fleet adds a line naming the rotation period)"}},
		{"rotating an existing token", fleetsJSON(`[{"name":"x","tokenConfigKey":"tok","runner":{"rotateEvery":"30d"}}]`), []string{"fleets[0] (x).runner.rotateEvery: cannot rotate an existing token"}},
		{"rollout timeout negative", fleet(`{"manager":{"rolloutTimeout":-5}}`), []string{"fleets[0] (builds).manager.rolloutTimeout: must be between 0 and 604800, got -5"}},
		{"manager pod label owned by the fleet", fleet(`{"manager":{"podLabels":{"app.kubernetes.io/instance":"other"}}}`),
			[]string{`fleets[0] (builds).manager.podLabels: key "app.kubernetes.io/instance": the app.kubernetes.io/ labels belong to the fleet`}},
		{"poll timeout below interval", fleet(`{"executor":{"pollInterval":30,"pollTimeout":10}}`), []string{"fleets[0] (builds).executor.pollTimeout: (10) must be at least pollInterval (30)"}},
		{"root user", fleet(`{"manager":{"runAsUser":0}}`), []string{"fleets[0] (builds).manager.runAsUser: must be a positive non-root id"}},
		{"existing token with runner settings", fleetsJSON(`[{"name":"x","tokenConfigKey":"tok","runner":{"type":"group_type"}}]`), []string{"fleets[0] (x).runner: must be empty with an existing token"}},
		{"pasted token as tokenConfigKey", fleetsJSON(`[{"name":"x","tokenConfigKey":"glrt-pasted-token-123"}]`),
			[]string{"fleets[0] (x).tokenConfigKey: holds what looks like a token, not the name of a setting"}},
		{"jobs of different trust in one namespace", fleetsJSON(`[` + fleetWith(t, `{"jobNamespace":"shared-jobs"}`)[1:len(fleetWith(t, `{"jobNamespace":"shared-jobs"}`))-1] +
			`,{"name":"release","jobNamespace":"shared-jobs","runner":{"type":"project_type","projectId":7,"locked":true,"accessLevel":"ref_protected"}}]`),
			[]string{`fleets[1] (release).jobNamespace: shares job namespace "shared-jobs" with fleets[0] (builds) but not its trust (project 7, ref_protected, locked=true here, group 42, not_protected, locked=false there)`}},
		{"existing token sharing jobs", fleetsJSON(`[` + fleetWith(t, `{"jobNamespace":"shared-jobs"}`)[1:len(fleetWith(t, `{"jobNamespace":"shared-jobs"}`))-1] +
			`,{"name":"other","jobNamespace":"shared-jobs","tokenConfigKey":"tok"}]`),
			[]string{`fleets[1] (other).jobNamespace: shares job namespace "shared-jobs" with fleets[0] (builds) but not its trust (existing token tok here`}},
		{"privileged jobs without a pool", fleet(`{"executor":{"privileged":true}}`),
			[]string{"fleets[0] (builds).executor.privileged: privileged jobs are root on their node: they need a node pool of their own"}},
		{"managers on the privileged pool", fleetsJSON(`[{"name":"dind","runner":{"type":"instance_type"},"executor":{"privileged":true,"nodeSelector":{"pool":"dind"},"tolerations":[{"key":"dind","operator":"Exists","effect":"NoSchedule"}]}},` +
			`{"name":"other","runner":{"type":"instance_type"},"manager":{"tolerations":[{"key":"dind","operator":"Exists","effect":"NoSchedule"}]}}]`),
			[]string{"fleets[1] (other).manager.tolerations: tolerates the taint dind of the privileged job pool of fleets[0] (dind)"}},
		{"network range unreadable", fleet(`{"network":{"jobEgressCidrs":["10.0.0.0/33"]}}`), []string{`fleets[0] (builds).network.jobEgressCidrs[0]: "10.0.0.0/33" is not an address range`}},
		{"network settings without policies", fleet(`{"network":{"policies":false,"metricsFrom":["monitoring"]}}`),
			[]string{"fleets[0] (builds).network.policies: is false, so the other network settings would do nothing"}},
		{"quota unreadable", fleet(`{"executor":{"quota":{"cpu":"many"}}}`), []string{`fleets[0] (builds).executor.quota.cpu: "many" is not a Kubernetes quantity`}},
		{"quota totals without quota", fleet(`{"executor":{"quota":{"enabled":false,"pods":5}}}`), []string{"fleets[0] (builds).executor.quota.enabled: is false"}},
		{"cache settings without a type", fleet(`{"cache":{"s3":{"bucketName":"b"}}}`), []string{"fleets[0] (builds).cache.type: is required with the other cache settings"}},
		{"s3 cache without a bucket", fleet(`{"cache":{"type":"s3","existingSecret":"k","s3":{}}}`), []string{"fleets[0] (builds).cache.s3.bucketName: is required"}},
		{"s3 cache without credentials", fleet(`{"cache":{"type":"s3","s3":{"bucketName":"b"}}}`),
			[]string{"fleets[0] (builds).cache.s3: needs credentials: accessKeyConfigKey and secretKeyConfigKey, cache.existingSecret, or authenticationType: iam"}},
		{"s3 cache with half the keys", fleet(`{"cache":{"type":"s3","s3":{"bucketName":"b","accessKeyConfigKey":"a"}}}`),
			[]string{"fleets[0] (builds).cache: s3.accessKeyConfigKey and s3.secretKeyConfigKey go together"}},
		{"cache type and backend differ", fleet(`{"cache":{"type":"gcs","existingSecret":"k","s3":{"bucketName":"b"}}}`),
			[]string{`fleets[0] (builds).cache.s3: is set but the cache type is "gcs"`, "fleets[0] (builds).cache.gcs: is required for a gcs cache"}},
		{"CA from two places", fleet(`{"gitlabCA":{"configKey":"ca","secret":{"name":"ca"}}}`), []string{"fleets[0] (builds).gitlabCA: needs exactly one of configKey"}},
		{"helper image not pinned", fleet(`{"executor":{"helperImage":"mirror.example.com/helper:latest"}}`), []string{"fleets[0] (builds).executor.helperImage"}},
		{"job ServiceAccount annotations without one", fleet(`{"executor":{"serviceAccountAnnotations":{"iam.gke.io/gcp-service-account":"ci@p.iam.gserviceaccount.com"}}}`),
			[]string{"fleets[0] (builds).executor.serviceAccountAnnotations: need executor.serviceAccount"}},
		{"docker-in-docker without privileges", fleet(`{"executor":{"dockerInDocker":true}}`), []string{"fleets[0] (builds).executor.dockerInDocker: needs privileged: true"}},
		{"host alias not an address", fleet(`{"executor":{"hostAliases":[{"ip":"gitlab","hostnames":["g"]}]}}`), []string{`fleets[0] (builds).executor.hostAliases[0].ip: "gitlab" is not an IP address`}},
		{"node affinity operator", fleet(`{"executor":{"nodeAffinity":[{"key":"a","operator":"Near","values":["b"]}]}}`), []string{`fleets[0] (builds).executor.nodeAffinity[0].operator: "Near" is not allowed`}},
		{"dns policy None without servers", fleet(`{"executor":{"dnsPolicy":"None","dnsConfig":{"searches":["x"]}}}`), []string{"fleets[0] (builds).executor.dnsConfig.nameservers: are required with dnsPolicy None"}},
		{"monitoring kind unknown", fleet(`{"manager":{"monitoring":{"kind":"Probe"}},"network":{"metricsFrom":["m"]}}`), []string{`fleets[0] (builds).manager.monitoring.kind: "Probe" is not allowed`}},
		{"existing token Secret with runner settings", fleetsJSON(`[{"name":"x","tokenSecret":{"name":"t"},"runner":{"type":"group_type"}}]`),
			[]string{"fleets[0] (x).runner: must be empty with an existing token"}},
		{"namespace created and not created", fleetsJSON(`[` + groupFleet + `,{"name":"other","namespace":"gitlab-runner-builds","createNamespace":false,"runner":{"type":"instance_type"}}]`), []string{"fleets[1] (other).namespace: namespace \"gitlab-runner-builds\" is created by one fleet and expected to exist by another"}},
		{"jobs of two fleets under different levels", fleetsJSON(`[` + fleetWith(t, `{"jobNamespace":"jobs"}`)[1:len(fleetWith(t, `{"jobNamespace":"jobs"}`))-1] +
			`,{"name":"other","jobNamespace":"jobs","runner":{"type":"instance_type"},"executor":{"podSecurity":"restricted"}}]`), []string{"fleets[1] (other).jobNamespace: jobs of several fleets run in namespace \"jobs\" with different executor.podSecurity levels"}},
		{"several problems at once", fleet(`{"manager":{"replicas":-1,"logFormat":"xml"},"runner":{"maximumTimeout":1}}`),
			[]string{"3 problem(s)", "manager.replicas", "manager.logFormat", "runner.maximumTimeout"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := planned(c.fleets).Err()
			require.Error(t, err)
			for _, want := range c.want {
				assert.Contains(t, err.Error(), want)
			}
			for _, secret := range []string{"glrt-pasted-token-123"} {
				assert.NotContains(t, err.Error(), secret, "secrets never appear in errors")
			}
		})
	}
}

func TestValidSettingsHaveNoProblem(t *testing.T) {
	assert.Empty(t, planned("["+groupFleet+"]"))
	assert.Empty(t, planned(fleetWith(t, `{"cache":{"type":"s3","s3":{"bucketName":"b","accessKeyConfigKey":"a","secretKeyConfigKey":"k"}},"gitlabCA":{"configKey":"ca"}}`)))
}

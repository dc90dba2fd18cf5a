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

	"github.com/glrf/gitlab-runner-fleet/components/fleet"
	"github.com/glrf/gitlab-runner-fleet/program"
	"github.com/glrf/gitlab-runner-fleet/tests/mocks"
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

// Nothing is registered while any setting is wrong: the stack-level
// settings the program reads itself (the stack settings fleets name, GitLab's
// address, its token), and a few of each layer's problems (the full tables
// are in components/settings and components/runnerconfig).
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
		{"misspelt key", fleet(`{"manager":{"replica":3}}`), nil, []string{"fleets[0] (builds).manager.replica: unknown setting (did you mean \"replicas\"?)"}},
		{"managers and jobs in one namespace", fleet(`{"namespace":"ci","jobNamespace":"ci"}`), nil,
			[]string{`fleets[0] (builds).jobNamespace: namespace "ci" holds runner managers (fleets[0] (builds).namespace)`}},
		{"option newer than the runner", fleet(`{"manager":{"image":"registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v18.6.0"},"executor":{"podDisruptionBudget":true}}`), nil,
			[]string{"fleets[0] (builds).executor: runners.kubernetes.pod_disruption_budget: config.toml key KubernetesConfig.pod_disruption_budget needs GitLab Runner 18.11 or later, but the managers run v18.6.0"}},
		{"restricted jobs that may escalate", fleet(`{"executor":{"podSecurity":"restricted","allowPrivilegeEscalation":true}}`), nil,
			[]string{`fleets[0] (builds).executor.podSecurity: the job namespace "gitlab-runner-builds-jobs" enforces "restricted", which would reject every job pod`, "allowPrivilegeEscalation != false"}},
		{"existing token not set", baseConfig(`[{"name":"x","tokenConfigKey":"tok"}]`), nil, []string{"fleets[0] (x).tokenConfigKey: names gitlab-runner-fleet:tok, which is not set"}},
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
		{"jobs of different trust in one namespace", baseConfig(`[` + fleetWith(t, `{"jobNamespace":"shared-jobs"}`)[1:len(fleetWith(t, `{"jobNamespace":"shared-jobs"}`))-1] +
			`,{"name":"release","jobNamespace":"shared-jobs","runner":{"type":"project_type","projectId":7,"locked":true,"accessLevel":"ref_protected"}}]`), nil,
			[]string{`fleets[1] (release).jobNamespace: shares job namespace "shared-jobs" with fleets[0] (builds) but not its trust (project 7, ref_protected, locked=true here, group 42, not_protected, locked=false there)`}},
		{"s3 cache key not set", fleet(`{"cache":{"type":"s3","s3":{"bucketName":"b","accessKeyConfigKey":"a","secretKeyConfigKey":"b"}}}`), nil,
			[]string{"fleets[0] (builds).cache.s3.accessKeyConfigKey: names gitlab-runner-fleet:a, which is not set; run `pulumi config set --secret a <value>`"}},
		{"CA that is no certificate", with(baseConfig(fleetWith(t, `{"gitlabCA":{"configKey":"gitlabCA"}}`)), "gitlab-runner-fleet:gitlabCA", "hello"), nil,
			[]string{"fleets[0] (builds).gitlabCA.configKey: names gitlab-runner-fleet:gitlabCA, which holds no PEM certificate"}},
		{"registry credentials not a Docker config", with(baseConfig(fleetWith(t, `{"executor":{"registryCredentialsConfigKey":"reg"}}`)), "gitlab-runner-fleet:reg", "user:pass"),
			[]string{"gitlab-runner-fleet:reg"}, []string{"fleets[0] (builds).executor.registryCredentialsConfigKey: names gitlab-runner-fleet:reg, which is not a Docker config JSON"}},
		{"extra config overriding the token", fleet(`{"executor":{"extraConfig":"token = \"glrt-x\""}}`), nil, []string{"fleets[0] (builds).executor.extraConfig: token belongs to the fleet"}},
		{"api server setting malformed", with(baseConfig(`[`+groupFleet+`]`), "gitlab-runner-fleet:apiServer", `{"cidrs":["10.0.0.1"],"port":0}`), nil,
			[]string{`apiServer.cidrs[0]: "10.0.0.1" is not an address range`, "apiServer.port: must be a TCP port, got 0"}},
		{"several problems at once", fleet(`{"manager":{"replicas":-1,"logFormat":"xml"},"runner":{"maximumTimeout":1}}`), nil,
			[]string{"3 problem(s)", "manager.replicas", "manager.logFormat", "runner.maximumTimeout"}},
	}
	require.GreaterOrEqual(t, len(cases), 15)
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
	assert.Equal(t, []program.KubeAccess{{Context: "production"}}, asked, "a preview reads the rollout as it stands, once, from the same cluster")
}

package program_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"example.com/gitlab-runner-fleet/components"
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
		{"latest image", fleet(`{"manager":{"image":"gitlab/gitlab-runner:latest"}}`), nil, []string{"fleets[0].manager.image", "latest tag"}},
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
		{"grace period shorter than jobs", fleet(`{"runner":{"maximumTimeout":7200},"manager":{"terminationGracePeriodSeconds":3600}}`), nil, []string{"fleets[0].manager.terminationGracePeriodSeconds: is 3600 but jobs may run for runner.maximumTimeout = 7200"}},
		{"poll timeout below interval", fleet(`{"executor":{"pollInterval":30,"pollTimeout":10}}`), nil, []string{"fleets[0].executor.pollTimeout: (10) must be at least pollInterval (30)"}},
		{"root user", fleet(`{"manager":{"runAsUser":0}}`), nil, []string{"fleets[0].manager.runAsUser: must be a positive non-root id"}},
		{"existing token with runner settings", baseConfig(`[{"name":"x","tokenConfigKey":"tok","runner":{"type":"group_type"}}]`),
			nil, []string{"fleets[0].runner: must be empty when tokenConfigKey is set"}},
		{"existing token not set", baseConfig(`[{"name":"x","tokenConfigKey":"tok"}]`), nil, []string{"fleets[0].tokenConfigKey: names gitlab-runner-fleet:tok, which is not set"}},
		{"existing token in plain text", with(baseConfig(`[{"name":"x","tokenConfigKey":"tok"}]`), "gitlab-runner-fleet:tok", "glrt-plain"),
			nil, []string{"which is stored in plain text"}},
		{"registration token", with(baseConfig(`[{"name":"x","tokenConfigKey":"tok"}]`), "gitlab-runner-fleet:tok", "GR1348941abc"),
			[]string{"gitlab-runner-fleet:tok"}, []string{"registration tokens are not supported"}},
		{"gitlab token in plain text", with(baseConfig(`[`+groupFleet+`]`), "gitlab:token", "glpat-plain"), nil, []string{"gitlab:token: is stored in plain text"}},
		{"no GitLab URL", without(baseConfig(`[`+groupFleet+`]`), "gitlab:baseUrl"), nil, []string{"gitlabUrl (or gitlab:baseUrl): is required"}},
		{"GitLab URL not http", with(baseConfig(`[`+groupFleet+`]`), "gitlab-runner-fleet:gitlabUrl", "ftp://gitlab"), nil, []string{"\"ftp://gitlab\" must be an http(s) URL"}},
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
		})
	}
}

func TestSeveralFleetsShareNamespacesWithoutCollisions(t *testing.T) {
	config := baseConfig(`[
		{"name":"group-a","namespace":"runners","jobNamespace":"jobs","runner":{"type":"group_type","groupId":1,"tags":["a"]}},
		{"name":"project-b","namespace":"runners","jobNamespace":"jobs","runner":{"type":"project_type","projectId":2,"tags":["b"]}},
		{"name":"existing","namespace":"runners","jobNamespace":"jobs","tokenConfigKey":"existingToken"}
	]`)
	config["gitlab-runner-fleet:existingToken"] = "glrt-existing"
	m, err := mocks.Run(program.Run, config, []string{"gitlab-runner-fleet:existingToken"})
	require.NoError(t, err)

	namespaces := m.OfType("kubernetes:core/v1:Namespace")
	require.Len(t, namespaces, 2, "each shared namespace is created once")
	for _, ns := range namespaces {
		assert.Equal(t, "group-a", ns.ParentName, "by the first fleet naming it")
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
	for _, fleet := range []string{"project-b", "existing"} {
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
	assert.Len(t, m.OfType(components.RunnerFleetType), 3, "one component per fleet")
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

package program_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/kubernetes"

	"github.com/glrf/gitlab-runner-fleet/components/fleet"
	"github.com/glrf/gitlab-runner-fleet/program"
	"github.com/glrf/gitlab-runner-fleet/tests/mocks"
)

const (
	clustersKey = "gitlab-runner-fleet:clusters"
	// eastKubeconfig is a secret setting's content; the tests look for it
	// wherever it must not be.
	eastKubeconfig = "apiVersion: v1\nkind: Config\nclusters:\n- name: east\n  cluster: {server: https://east.example.com:6443}\n" +
		"users:\n- name: admin\n  user: {token: east-cluster-credential-123}\ncontexts:\n- name: east\n  context: {cluster: east, user: admin}\ncurrent-context: east\n"
)

// multiClusterConfig: fleets a and b in cluster east sharing their
// namespaces, c in cluster west with the same namespace names, d in the
// default cluster.
func multiClusterConfig() (map[string]string, []string) {
	config := baseConfig(`[
		{"name":"a","cluster":"east","namespace":"runners","jobNamespace":"jobs","runner":{"type":"group_type","groupId":1,"tags":["a"]}},
		{"name":"b","cluster":"east","namespace":"runners","jobNamespace":"jobs","runner":{"type":"group_type","groupId":1,"tags":["b"]}},
		{"name":"c","cluster":"west","namespace":"runners","jobNamespace":"jobs","runner":{"type":"group_type","groupId":2}},
		{"name":"d","runner":{"type":"instance_type"}}
	]`)
	config[clustersKey] = `{"east":{"kubeconfig":"eastKubeconfig"},"west":{"context":"west-prod","apiServer":{"cidrs":["10.1.0.1/32"],"port":443}}}`
	config["gitlab-runner-fleet:eastKubeconfig"] = eastKubeconfig
	config["kubernetes:context"] = "default-ctx"
	config["kubernetes:clusterIdentifier"] = "main"
	return config, []string{"gitlab-runner-fleet:eastKubeconfig"}
}

func TestFleetsRunInTheirClustersThroughOneProviderEach(t *testing.T) {
	config, secrets := multiClusterConfig()
	m, err := mocks.Run(program.Run, config, secrets)
	require.NoError(t, err)

	// One explicit provider per named cluster; the kubeconfig stays secret.
	providers := m.OfType("pulumi:providers:kubernetes")
	require.Len(t, providers, 2)
	east, west := m.Find("pulumi:providers:kubernetes", "east"), m.Find("pulumi:providers:kubernetes", "west")
	require.NotNil(t, east)
	require.NotNil(t, west)
	kubeconfig, ok := mocks.Get(east.Inputs, "kubeconfig")
	require.True(t, ok)
	assert.True(t, kubeconfig.IsSecret(), "the kubeconfig is a secret provider input")
	assert.Equal(t, eastKubeconfig, mocks.String(east.Inputs, "kubeconfig"))
	assert.Equal(t, "east", mocks.String(east.Inputs, "clusterIdentifier"), "the cluster's name is its identity")
	assert.Equal(t, "west-prod", mocks.String(west.Inputs, "context"))
	assert.Equal(t, "west", mocks.String(west.Inputs, "clusterIdentifier"))
	_, hasKubeconfig := west.Inputs["kubeconfig"]
	assert.False(t, hasKubeconfig, "west uses the ambient kubeconfig")

	// Every Kubernetes object of a fleet goes through its cluster's provider;
	// the default cluster's through the default provider.
	fleetCluster := map[string]string{"a": "east", "b": "east", "c": "west", "d": ""}
	counted := map[string]int{}
	for _, r := range m.All() {
		if !r.Custom || !strings.HasPrefix(r.Type, "kubernetes:") || r.ParentType != fleet.RunnerFleetType {
			continue
		}
		cluster, ok := fleetCluster[r.ParentName]
		require.True(t, ok, r.ParentName)
		counted[r.ParentName]++
		if cluster == "" {
			assert.Empty(t, r.Provider, "%s %s of fleet d uses the default provider", r.Type, r.Name)
			continue
		}
		assert.True(t, strings.HasPrefix(r.Provider, "urn:pulumi:test::gitlab-runner-fleet::pulumi:providers:kubernetes::"+cluster+"::"),
			"%s %s of fleet %s uses %q", r.Type, r.Name, r.ParentName, r.Provider)
	}
	for fleet := range fleetCluster {
		assert.GreaterOrEqual(t, counted[fleet], 10, "fleet %s's objects", fleet)
	}
	for _, runner := range m.OfType("gitlab:index/userRunner:UserRunner") {
		assert.Empty(t, runner.Provider, "runners stay with the GitLab provider")
	}

	// Namespaces are shared per cluster: created once in each cluster that
	// uses them, under distinct logical names.
	namespaces := map[string]string{} // logical name -> creating fleet
	for _, ns := range m.OfType("kubernetes:core/v1:Namespace") {
		namespaces[ns.Name] = ns.ParentName
	}
	assert.Equal(t, map[string]string{
		"east/runners": "a", "east/jobs": "a", "west/runners": "c", "west/jobs": "c",
		"gitlab-runner-d": "d", "gitlab-runner-d-jobs": "d",
	}, namespaces)
	for _, name := range []string{"east/runners", "west/runners"} {
		assert.Equal(t, "runners", mocks.String(m.Find("kubernetes:core/v1:Namespace", name).Inputs, "metadata", "name"))
	}
	b := m.Find("kubernetes:apps/v1:StatefulSet", "b")
	require.NotNil(t, b)
	assert.True(t, hasDependency(b.Dependencies, "kubernetes:core/v1:Namespace::east/runners"), "b waits for the namespace a creates in east: %v", b.Dependencies)
	c := m.Find("kubernetes:apps/v1:StatefulSet", "c")
	require.NotNil(t, c)
	assert.False(t, hasDependency(c.Dependencies, "kubernetes:core/v1:Namespace::east/runners"), "c does not wait for east's namespace")
	assert.True(t, hasDependency(c.Dependencies, "kubernetes:core/v1:Namespace::west/runners"))
	assert.NotNil(t, m.Find("kubernetes:core/v1:ResourceQuota", "c-jobs"), "west's job namespace gets its own quota")
	assert.Nil(t, m.Find("kubernetes:core/v1:ResourceQuota", "b-jobs"), "b shares a's job namespace in east")

	// No two resources have the same URN (type, parent type and name).
	urns := map[string]bool{}
	for _, r := range m.All() {
		urn := r.ParentType + "$" + r.Type + "::" + r.Name
		assert.False(t, urns[urn], "URN %s registered twice", urn)
		urns[urn] = true
	}

	// Each cluster's API server: east's read from east, west's from its setting.
	read := m.Find("kubernetes:discovery.k8s.io/v1:EndpointSlice", "east/kubernetes-api-server")
	require.NotNil(t, read, "east's API server is read from east")
	assert.True(t, strings.HasPrefix(read.Provider, "urn:pulumi:test::gitlab-runner-fleet::pulumi:providers:kubernetes::east::"))
	defaultRead := m.Find("kubernetes:discovery.k8s.io/v1:EndpointSlice", "kubernetes-api-server")
	require.NotNil(t, defaultRead, "the default cluster's is read as before")
	assert.Empty(t, defaultRead.Provider)
	assert.Len(t, m.OfType("kubernetes:discovery.k8s.io/v1:EndpointSlice"), 2, "west's comes from its apiServer setting")
	assert.Contains(t, policyCIDRs(t, m, "c-manager"), "10.1.0.1/32")
	assert.Contains(t, policyCIDRs(t, m, "a-manager"), mocks.MockAPIServerAddress+"/32")

	// A job namespace closes only its own cluster's managers' namespaces.
	jobs := m.Find("kubernetes:networking.k8s.io/v1:NetworkPolicy", "a-jobs")
	require.NotNil(t, jobs)
	egress, _ := mocks.Get(jobs.Inputs, "spec")
	assert.Contains(t, egress.String(), "runners")
	assert.NotContains(t, egress.String(), "gitlab-runner-d", "fleet d's namespaces are in another cluster")
}

func hasDependency(deps []string, suffix string) bool {
	for _, d := range deps {
		if strings.HasSuffix(d, suffix) {
			return true
		}
	}
	return false
}

// policyCIDRs are the address ranges a NetworkPolicy names, as text.
func policyCIDRs(t *testing.T, m *mocks.Mocks, name string) string {
	t.Helper()
	policy := m.Find("kubernetes:networking.k8s.io/v1:NetworkPolicy", name)
	require.NotNil(t, policy, name)
	spec, _ := mocks.Get(policy.Inputs, "spec")
	return spec.String()
}

func TestStacksWithoutClustersKeepTheDefaultProvider(t *testing.T) {
	for _, clusters := range []string{"", "{}"} {
		config := baseConfig(`[` + groupFleet + `]`)
		if clusters != "" {
			config[clustersKey] = clusters
		}
		m, err := mocks.Run(program.Run, config, nil)
		require.NoError(t, err)
		assert.Empty(t, m.OfType("pulumi:providers:kubernetes"), "no explicit provider")
		for _, r := range m.All() {
			assert.Empty(t, r.Provider, "%s %s", r.Type, r.Name)
		}
		assert.NotNil(t, m.Find("kubernetes:core/v1:Namespace", "gitlab-runner-builds"), "namespaces keep their names")
		assert.NotNil(t, m.Find("kubernetes:discovery.k8s.io/v1:EndpointSlice", "kubernetes-api-server"))
	}
}

func TestAnUnusedClusterGetsNoProvider(t *testing.T) {
	config := baseConfig(`[` + groupFleet + `]`)
	config[clustersKey] = `{"spare":{"context":"spare"}}`
	config["kubernetes:clusterIdentifier"] = "main"
	m, err := mocks.Run(program.Run, config, nil)
	require.NoError(t, err)
	assert.Empty(t, m.OfType("pulumi:providers:kubernetes"))
}

func TestUpReadsEachFleetsRolloutFromItsCluster(t *testing.T) {
	var mu sync.Mutex
	asked := map[program.KubeAccess]int{}
	opts := program.Options{Kube: func(a program.KubeAccess) (kubernetes.Interface, error) {
		mu.Lock()
		defer mu.Unlock()
		asked[a]++
		// An error that quotes the kubeconfig, as a careless client library might.
		return nil, errors.New("cannot use kubeconfig " + a.Kubeconfig)
	}}
	config, secrets := multiClusterConfig()
	_, err := mocks.Run(opts.Run, config, secrets)
	require.NoError(t, err, "an unreadable rollout never fails up")
	assert.Equal(t, map[program.KubeAccess]int{
		{Kubeconfig: eastKubeconfig}: 2, // a and b
		{Context: "west-prod"}:       1,
		{Context: "default-ctx"}:     1,
	}, asked)
}

func TestMalformedClusterSettingsAreRejectedBeforeAnyResource(t *testing.T) {
	fleetIn := func(cluster string) string {
		return `[{"name":"builds","cluster":"` + cluster + `","runner":{"type":"group_type","groupId":42}}]`
	}
	type tc struct {
		name     string
		clusters string
		fleets   string
		extra    map[string]string
		secrets  []string
		want     []string
	}
	cases := []tc{
		{"clusters not a map", `["east"]`, fleetIn("east"), nil, nil, []string{"clusters: must be an object mapping names to an object with the settings apiServer, context, kubeconfig, got array"}},
		{"cluster not an object", `{"east":"east-ctx"}`, fleetIn("east"), nil, nil, []string{"clusters.east: must be an object with the settings apiServer, context, kubeconfig, got string"}},
		{"misspelt key", `{"east":{"contxt":"east"}}`, fleetIn("east"), nil, nil, []string{`clusters.east.contxt: unknown setting (did you mean "context"?); known settings here: apiServer, context, kubeconfig`}},
		{"context not a string", `{"east":{"context":5}}`, fleetIn("east"), nil, nil, []string{"clusters.east.context: must be a string"}},
		{"name not a DNS label", `{"East_1":{"context":"x"}}`, fleetIn("East_1"), nil, nil, []string{`clusters.East_1: "East_1" cannot name a cluster: it must be a DNS label`}},
		{"neither kubeconfig nor context", `{"east":{}}`, fleetIn("east"), nil, nil, []string{"clusters.east: says neither how to reach the cluster"}},
		{"kubeconfig pasted in place of a setting name", `{"east":{"kubeconfig":"apiVersion: v1\nclusters: []\nusers: [{name: x, user: {token: pasted-credential-456}}]"}}`, fleetIn("east"), nil, nil,
			[]string{"clusters.east.kubeconfig: holds what looks like a kubeconfig, not the name of a setting", "pulumi config set --secret eastKubeconfig < kubeconfig.yaml"}},
		{"kubeconfig given as a path", `{"build-eu":{"kubeconfig":"~/.kube/eu.yaml"}}`, fleetIn("build-eu"), nil, nil,
			[]string{"clusters.build-eu.kubeconfig: must name a secret setting of this project", "pulumi config set --secret buildEuKubeconfig < kubeconfig.yaml"}},
		{"kubeconfig setting not set", `{"east":{"kubeconfig":"eastKubeconfig"}}`, fleetIn("east"), nil, nil,
			[]string{"clusters.east.kubeconfig: names gitlab-runner-fleet:eastKubeconfig, which is not set; run `pulumi config set --secret eastKubeconfig < kubeconfig.yaml`"}},
		{"kubeconfig in plain text", `{"east":{"kubeconfig":"eastKubeconfig"}}`, fleetIn("east"), map[string]string{"gitlab-runner-fleet:eastKubeconfig": eastKubeconfig}, nil,
			[]string{"clusters.east.kubeconfig: names gitlab-runner-fleet:eastKubeconfig, which is stored in plain text", "pulumi config set --secret eastKubeconfig < kubeconfig.yaml"}},
		{"kubeconfig naming a program setting", `{"east":{"kubeconfig":"fleets"}}`, fleetIn("east"), nil, nil,
			[]string{"clusters.east.kubeconfig: names gitlab-runner-fleet:fleets, a setting of the program itself"}},
		{"api server malformed", `{"east":{"context":"east","apiServer":{"cidrs":["10.0.0.1"],"port":0}}}`, fleetIn("east"), nil, nil,
			[]string{`clusters.east.apiServer.cidrs[0]: "10.0.0.1" is not an address range`, "clusters.east.apiServer.port: must be a TCP port, got 0"}},
		{"api server with an unknown key", `{"east":{"context":"east","apiServer":{"cidr":["10.0.0.1/32"],"port":443}}}`, fleetIn("east"), nil, nil,
			[]string{`clusters.east.apiServer.cidr: unknown setting (did you mean "cidrs"?); known settings here: cidrs, port`}},
		{"one cluster named twice", `{"east":{"context":"prod"},"west":{"context":"prod"}}`, fleetIn("east"), nil, nil,
			[]string{`clusters.west: is reached exactly as cluster "east" (same kubeconfig and context)`}},
		{"fleet in an unknown cluster", `{"east":{"context":"east"},"west":{"context":"west"}}`, fleetIn("gpu"), nil, nil,
			[]string{`fleets[0] (builds).cluster: names cluster "gpu", which is not in gitlab-runner-fleet:clusters; known clusters: east, west`}},
		{"fleet in a cluster of a stack without clusters", "", fleetIn("gpu"), nil, nil,
			[]string{`fleets[0] (builds).cluster: names cluster "gpu", but the stack names no cluster`}},
		{"cluster problems with fleet problems", `{"east":{}}`, `[{"name":"builds","cluster":"east","runner":{"type":"group_type"}}]`, nil, nil,
			[]string{"2 problem(s)", "fleets[0] (builds).runner.groupId", "clusters.east: says neither"}},
		{"default cluster without an identifier beside named ones", `{"east":{"context":"east"}}`,
			`[{"name":"a","cluster":"east","runner":{"type":"instance_type"}},{"name":"b","runner":{"type":"instance_type"}}]`, nil, nil,
			[]string{"kubernetes:clusterIdentifier: is required when some fleets run in the default provider's cluster and others in named clusters",
				"`pulumi config set kubernetes:clusterIdentifier main`"}},
		{"default cluster identified as a named one", `{"east":{"context":"east"}}`,
			`[{"name":"a","cluster":"east","runner":{"type":"instance_type"}},{"name":"b","runner":{"type":"instance_type"}}]`,
			map[string]string{"kubernetes:clusterIdentifier": "east"}, nil,
			[]string{`kubernetes:clusterIdentifier: is "east", the name of a cluster in gitlab-runner-fleet:clusters`}},
		{"namespace roles still checked within a cluster", `{"east":{"context":"east"}}`,
			`[{"name":"a","cluster":"east","namespace":"ci","runner":{"type":"instance_type"}},{"name":"b","cluster":"east","jobNamespace":"ci","runner":{"type":"instance_type"}}]`, nil, nil,
			[]string{`fleets[1] (b).jobNamespace: namespace "ci" holds runner managers (fleets[0] (a).namespace)`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			config := baseConfig(c.fleets)
			if c.clusters != "" {
				config[clustersKey] = c.clusters
			}
			for k, v := range c.extra {
				config[k] = v
			}
			m, err := mocks.Run(program.Run, config, c.secrets)
			require.Error(t, err)
			for _, want := range c.want {
				assert.Contains(t, err.Error(), want)
			}
			assert.Empty(t, m.All(), "bad config registers nothing")
			for _, secret := range []string{"east-cluster-credential-123", "pasted-credential-456", "apiVersion"} {
				assert.NotContains(t, err.Error(), secret, "a kubeconfig never appears in errors")
			}
		})
	}
}

// Fleets in different clusters may reuse namespace names; checks that
// span namespaces stay within a cluster.
func TestNamespacesAreSharedPerClusterOnly(t *testing.T) {
	config := baseConfig(`[
		{"name":"a","cluster":"east","namespace":"ci","runner":{"type":"instance_type"}},
		{"name":"b","cluster":"west","jobNamespace":"ci","runner":{"type":"instance_type"}},
		{"name":"c","cluster":"east","namespace":"shared","createNamespace":false,"runner":{"type":"instance_type"}},
		{"name":"d","cluster":"west","namespace":"shared","runner":{"type":"instance_type"}},
		{"name":"e","cluster":"east","jobNamespace":"jobs","runner":{"type":"group_type","groupId":1}},
		{"name":"f","cluster":"west","jobNamespace":"jobs","runner":{"type":"project_type","projectId":2}}
	]`)
	config[clustersKey] = `{"east":{"context":"east"},"west":{"context":"west"}}`
	m, err := mocks.Run(program.Run, config, nil)
	require.NoError(t, err, "managers in one cluster and jobs in another may use one name; create flags and trust are per cluster")
	assert.NotNil(t, m.Find("kubernetes:core/v1:Namespace", "east/ci"))
	assert.NotNil(t, m.Find("kubernetes:core/v1:Namespace", "west/ci"))
	assert.Nil(t, m.Find("kubernetes:core/v1:Namespace", "east/shared"), "c uses an existing namespace in east")
	assert.NotNil(t, m.Find("kubernetes:core/v1:Namespace", "west/shared"))
	assert.NotNil(t, m.Find("kubernetes:core/v1:ResourceQuota", "e-jobs"))
	assert.NotNil(t, m.Find("kubernetes:core/v1:ResourceQuota", "f-jobs"), "each cluster's job namespace has its own quota")
}

func TestFleetNamesStayUniqueAcrossClusters(t *testing.T) {
	config := baseConfig(`[
		{"name":"builds","cluster":"east","runner":{"type":"instance_type"}},
		{"name":"builds","cluster":"west","runner":{"type":"instance_type"}}
	]`)
	config[clustersKey] = `{"east":{"context":"east"},"west":{"context":"west"}}`
	m, err := mocks.Run(program.Run, config, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `fleets[1] (builds).name: "builds" is already the name of fleets[0]`)
	assert.Empty(t, m.All())
}

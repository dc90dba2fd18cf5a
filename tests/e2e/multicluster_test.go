//go:build e2e

package e2e

// Fleets in several clusters: one stack with fleets in the suite's cluster
// ("one", reached by a context of the ambient kubeconfig) and in a second
// private control plane started for the test ("two", reached by a
// kubeconfig kept in a secret setting). Stacks and fleets are named mc-*.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The secret setting holding cluster two's kubeconfig.
const mcKubeconfigKey = "mcTwoKubeconfig"

// multiClusterStack is a stack whose clusters are one (the suite's) and two.
func multiClusterStack(t *testing.T, name string, two *kubeCluster, fleets ...fleet) *testStack {
	t.Helper()
	s := newStack(t, name, fleets...)
	require.NoError(t, s.stack.SetConfig(context.Background(), "gitlab-runner-fleet:"+mcKubeconfigKey,
		auto.ConfigValue{Value: two.kubeconfigText(t), Secret: true}))
	s.setConfig(t, "gitlab-runner-fleet:clusters", map[string]any{
		"one": map[string]any{"context": "glrf-local", "apiServer": suiteCluster().apiServer(t)},
		"two": map[string]any{"kubeconfig": mcKubeconfigKey, "apiServer": two.apiServer(t)},
	})
	return s
}

// mcFleet is a small group fleet in a cluster.
func mcFleet(name, cluster string, groupID int) fleet {
	f := groupFleet(name, groupID)
	f["cluster"] = cluster
	return f
}

// fleetKinds are the kinds of every object a fleet labels as its own.
const fleetKinds = "statefulsets,pods,services,secrets,configmaps,serviceaccounts,roles,rolebindings,poddisruptionbudgets," +
	"networkpolicies,resourcequotas,limitranges,validatingadmissionpolicies,validatingadmissionpolicybindings"

func waitReadyIn(t testing.TB, c *kubeCluster, namespace, name string) {
	t.Helper()
	c.mustKubectl(t, "rollout", "status", "statefulset/"+name, "-n", namespace, "--timeout=180s")
}

// tokenIn is the runner token in the fleet's token Secret in a cluster.
func tokenIn(t testing.TB, c *kubeCluster, namespace, fleetName string) string {
	t.Helper()
	out := c.mustKubectl(t, "get", "secrets", "-n", namespace, "-l", "app.kubernetes.io/instance="+fleetName, "-o", "json")
	var list struct {
		Items []struct {
			Data map[string]string `json:"data"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &list))
	require.Len(t, list.Items, 1, "one token Secret")
	token, err := base64.StdEncoding.DecodeString(list.Items[0].Data["runner-token"])
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(token), "glrt-"))
	return string(token)
}

// clientKey is the private key of a kubeconfig's user, as its text holds it.
func clientKey(t testing.TB, kubeconfig string) string {
	t.Helper()
	m := regexp.MustCompile(`client-key-data: (\S+)`).FindStringSubmatch(kubeconfig)
	require.Len(t, m, 2, "the kubeconfig embeds a client key")
	return m[1]
}

func TestMultiClusterFleetsRunInTheirOwnClusters(t *testing.T) {
	two := startOtherCluster(t)
	one := suiteCluster()
	// The same namespace names in both clusters: each cluster gets its own.
	a, b := mcFleet("mc-one", "one", 31), mcFleet("mc-two", "two", 32)
	for _, f := range []fleet{a, b} {
		f["namespace"], f["jobNamespace"] = "mc-runners", "mc-jobs"
	}
	s := multiClusterStack(t, "mc-clusters", two, a, b)

	plan, _ := s.previewSteps(t)
	assert.Equal(t, "create", plan["pulumi:providers:kubernetes one"])
	assert.Equal(t, "create", plan["pulumi:providers:kubernetes two"])
	assert.NotContains(t, plan, "pulumi:providers:kubernetes default_4_25_0", "no fleet uses the default provider")
	for _, ns := range []string{"one/mc-runners", "one/mc-jobs", "two/mc-runners", "two/mc-jobs"} {
		assert.Equal(t, "create", plan["kubernetes:core/v1:Namespace "+ns])
	}

	s.up(t)
	waitReadyIn(t, one, "mc-runners", "mc-one")
	waitReadyIn(t, two, "mc-runners", "mc-two")
	for _, c := range []struct {
		cluster     *kubeCluster
		own, other  string
		clusterName string
	}{{one, "mc-one", "mc-two", "one"}, {two, "mc-two", "mc-one", "two"}} {
		assert.Len(t, c.cluster.objectsOf(t, "pods", c.own), 2, "%s's managers run in cluster %s", c.own, c.clusterName)
		assert.Empty(t, c.cluster.objectsOf(t, fleetKinds, c.other), "nothing of %s in cluster %s", c.other, c.clusterName)
		assert.Equal(t, "restricted", c.cluster.mustKubectl(t, "get", "namespace", "mc-runners", "-o", `jsonpath={.metadata.labels.pod-security\.kubernetes\.io/enforce}`))
		assert.Equal(t, c.clusterName, fleetOutput(t, s, c.own, "cluster"))
	}
	assert.NotEqual(t, s.runnerID(t, "mc-one"), s.runnerID(t, "mc-two"), "one runner per fleet")

	// The kubeconfig given as a setting is a secret: in no engine output, no
	// stack output, and encrypted in the state.
	key := clientKey(t, two.kubeconfigText(t))
	assert.NotContains(t, s.log.String(), key, "engine output")
	outputs, err := json.Marshal(s.outputs(t))
	require.NoError(t, err)
	assert.NotContains(t, string(outputs), key, "stack outputs")
	provider := stateResource(t, s, "pulumi:providers:kubernetes", "two")
	require.NotNil(t, provider)
	kubeconfig, _ := provider.Inputs["kubeconfig"].(map[string]any)
	// 4dabf181...: the signature of a secret value in Pulumi's state.
	assert.Contains(t, kubeconfig, "4dabf18193072939515e22adb298388d", "the provider's kubeconfig is a secret in the state")
	stateFiles := 0
	require.NoError(t, filepath.WalkDir(h.stateDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(data), "pulumi:providers:kubernetes::two") {
			stateFiles++
		}
		assert.NotContains(t, string(data), key, "state file %s", path)
		return nil
	}))
	require.NotZero(t, stateFiles, "the stack's state under %s", h.stateDir)

	mark := s.log.Len()
	again := s.up(t)
	assert.Empty(t, changes(*again.Summary.ResourceChanges), "a second up is a no-op")
	for _, f := range []string{"mc-one", "mc-two"} {
		assert.Contains(t, s.log.String()[mark:], "fleet "+f+": rollout complete: 2 of 2 managers ready", "%s's rollout, read from its cluster", f)
	}

	// destroy leaves both clusters empty and no runner.
	ids := []string{s.runnerID(t, "mc-one"), s.runnerID(t, "mc-two")}
	_, err = s.stack.Destroy(context.Background(), optdestroy.ProgressStreams(&s.log))
	require.NoError(t, err, tail(s.log.String(), 40))
	for _, c := range []*kubeCluster{one, two} {
		for _, f := range []string{"mc-one", "mc-two"} {
			assert.Empty(t, c.objectsOf(t, fleetKinds, f), "objects of %s left", f)
		}
		for _, ns := range []string{"mc-runners", "mc-jobs"} {
			assert.True(t, c.namespaceGone(t, ns), "namespace %s gone or going", ns)
		}
	}
	for _, id := range ids {
		status, _ := h.gitlab(t, http.MethodGet, "runners/"+id, nil)
		assert.Equal(t, http.StatusNotFound, status, "runner %s is gone from GitLab", id)
	}
}

// engineStep is one finished step of an update, in the order the engine
// reported it.
type engineStep struct {
	op  apitype.OpType
	key string // "type name"
}

// upSteps runs up and returns its finished steps in order.
func upSteps(t *testing.T, s *testStack) ([]engineStep, auto.UpResult) {
	t.Helper()
	ch := make(chan events.EngineEvent)
	done := make(chan struct{})
	var steps []engineStep
	go func() {
		defer close(done)
		for e := range ch {
			if e.ResOutputsEvent == nil {
				continue
			}
			md := e.ResOutputsEvent.Metadata
			if md.Op != apitype.OpSame {
				steps = append(steps, engineStep{op: md.Op, key: md.Type + " " + resource.URN(md.URN).Name()})
			}
		}
	}()
	res, err := s.stack.Up(context.Background(), optup.ProgressStreams(&s.log), optup.EventStreams(ch))
	<-done
	require.NoError(t, err, "up failed; engine output:\n%s", tail(s.log.String(), 60))
	return steps, res
}

// moveSteps are the steps a preview plans for moving a fleet from cluster
// "from" to cluster "to" ("": the default cluster): its Kubernetes objects
// replaced, its namespaces created in the new cluster and deleted from the
// old, and its runner untouched.
func moveSteps(name, from, to string) map[string]string {
	qualified := func(cluster, ns string) string {
		if cluster == "" {
			return ns
		}
		return cluster + "/" + ns
	}
	want := map[string]string{}
	for _, r := range fleetResources(name) {
		typ, resName, _ := strings.Cut(r, " ")
		switch typ {
		case "gitlab-runner-fleet:index:RunnerFleet", "gitlab:index/userRunner:UserRunner":
		case "kubernetes:core/v1:Namespace":
			want[typ+" "+qualified(from, resName)] = "delete"
			want[typ+" "+qualified(to, resName)] = "create"
		default:
			want[r] = "replace"
		}
	}
	return want
}

// checkMoveOrder checks that every object of a move exists in the new
// cluster before it is deleted from the old.
func checkMoveOrder(t *testing.T, steps []engineStep, want map[string]string, from, to string) {
	t.Helper()
	at := map[string]int{}
	for i, step := range steps {
		at[string(step.op)+" "+step.key] = i
	}
	for r, op := range want {
		if !strings.HasPrefix(r, "kubernetes:") || strings.Contains(r, "mc-stay") {
			continue // the move's own objects only
		}
		switch op {
		case "replace":
			created, ok1 := at["create-replacement "+r]
			deleted, ok2 := at["delete-replaced "+r]
			require.True(t, ok1 && ok2, "%s replaced: %v", r, steps)
			assert.Less(t, created, deleted, "%s is created in the new cluster before it is deleted from the old", r)
		case "create":
			typ, ns, _ := strings.Cut(r, " ")
			ns = strings.TrimPrefix(ns, to+"/")
			old := typ + " " + ns
			if from != "" {
				old = typ + " " + from + "/" + ns
			}
			created, ok1 := at["create "+r]
			deleted, ok2 := at["delete "+old]
			require.True(t, ok1 && ok2, "%s created and %s deleted: %v", r, old, steps)
			assert.Less(t, created, deleted, "%s before %s goes", r, old)
		}
	}
}

func TestMultiClusterMovingAFleetKeepsItsRunnerAndToken(t *testing.T) {
	const name = "mc-mover"
	namespace := "gitlab-runner-" + name
	two := startOtherCluster(t)
	one := suiteCluster()

	// A stack of today: one fleet, the default provider, no clusters.
	mover := groupFleet(name, 33)
	s := newStack(t, "mc-move", mover)
	s.up(t)
	waitReady(t, namespace, name)
	id := s.runnerID(t, name)
	token := tokenIn(t, one, namespace, name)
	require.Len(t, faultRunners(t, faultDescription(s, name)), 1)

	// Naming a second cluster, and the default one, changes nothing of the
	// fleet already there.
	require.NoError(t, s.stack.SetConfig(context.Background(), "gitlab-runner-fleet:"+mcKubeconfigKey,
		auto.ConfigValue{Value: two.kubeconfigText(t), Secret: true}))
	s.setConfig(t, "gitlab-runner-fleet:clusters", map[string]any{
		"one": map[string]any{"context": "glrf-local", "apiServer": one.apiServer(t)},
		"two": map[string]any{"kubeconfig": mcKubeconfigKey, "apiServer": two.apiServer(t)},
	})
	s.setConfig(t, "kubernetes:clusterIdentifier", "suite")
	stay := mcFleet("mc-stay", "two", 34)
	s.setFleets(t, mover, stay)
	plan, _ := s.previewSteps(t)
	for step := range plan {
		assert.NotContains(t, step, name, "nothing of the fleet in the default cluster changes")
	}
	s.up(t)

	// From the default cluster to cluster two, then from two to one. (One is
	// the suite's cluster, as the default one is: the fleet has left it
	// before it comes back under the other name.)
	for _, move := range []struct{ from, to string }{{"", "two"}, {"two", "one"}} {
		from, to := suiteCluster(), two
		if move.from == "two" {
			from, to = two, one
		}
		mover["cluster"] = move.to
		s.setFleets(t, mover, stay)
		plan, _ := s.previewSteps(t)
		want := moveSteps(name, move.from, move.to)
		// Cluster two's job namespace shuts out the managers' namespaces of
		// its cluster: one more when the fleet comes, one fewer when it goes.
		want["kubernetes:networking.k8s.io/v1:NetworkPolicy mc-stay-jobs"] = "update"
		if move.from == "" {
			want["pulumi:providers:kubernetes default_4_25_0"] = "delete" // no fleet left in the default cluster
		} else {
			want["pulumi:providers:kubernetes one"] = "create" // the first fleet in cluster one
		}
		assert.Equal(t, want, plan, "moving from %q to %q: created in the new cluster, deleted from the old; the runner stays", move.from, move.to)

		steps, _ := upSteps(t, s)
		checkMoveOrder(t, steps, want, move.from, move.to)
		waitReadyIn(t, to, namespace, name)
		assert.Equal(t, id, s.runnerID(t, name), "the same runner")
		runners := faultRunners(t, faultDescription(s, name))
		require.Len(t, runners, 1, "no new runner in GitLab")
		assert.Equal(t, id, jsonNumber(runners[0].ID))
		assert.Equal(t, token, tokenIn(t, to, namespace, name), "its token moved with it")
		assert.Empty(t, from.objectsOf(t, fleetKinds, name), "nothing left in the old cluster")
		assert.True(t, from.namespaceGone(t, namespace))
		assert.True(t, from.namespaceGone(t, namespace+"-jobs"))
		assert.Equal(t, move.to, fleetOutput(t, s, name, "cluster"))
		again := s.up(t)
		assert.Empty(t, changes(*again.Summary.ResourceChanges), "the move is complete")
	}
	jobsPolicy := two.mustKubectl(t, "get", "networkpolicies", "-n", "gitlab-runner-mc-stay-jobs", "-o", "json")
	assert.NotContains(t, jobsPolicy, `"`+namespace+`"`, "mc-stay's job policy follows the managers that left")
}

// configToml is the config.toml a fleet's managers run with in a cluster.
func configToml(t testing.TB, c *kubeCluster, fleetName string) string {
	t.Helper()
	return c.mustKubectl(t, "get", "configmaps", "-n", "gitlab-runner-"+fleetName, "-l", "app.kubernetes.io/instance="+fleetName,
		"-o", `jsonpath={.items[*].data.config\.toml}`)
}

func TestMultiClusterAnUnreachableClusterFailsOnlyItsFleets(t *testing.T) {
	two := startOtherCluster(t)
	one := suiteCluster()
	reach, down := mcFleet("mc-reach", "one", 35), mcFleet("mc-down", "two", 36)
	s := multiClusterStack(t, "mc-unreachable", two, reach, down)
	s.up(t)
	waitReadyIn(t, one, "gitlab-runner-mc-reach", "mc-reach")
	waitReadyIn(t, two, "gitlab-runner-mc-down", "mc-down")
	downID := s.runnerID(t, "mc-down")
	before := len(deployment(t, s).Resources)
	require.Contains(t, configToml(t, two, "mc-down"), "concurrent = 10")

	two.stop(t)
	// A change to both fleets. With --continue-on-error, up goes on past the
	// steps that fail: the reachable cluster's fleet converges, and only the
	// unreachable cluster's fleet fails, with the provider's error.
	for _, f := range []fleet{reach, down} {
		f["manager"].(map[string]any)["concurrent"] = 7
	}
	s.setFleets(t, reach, down)
	plan, _ := s.previewSteps(t)
	assert.Equal(t, "update", plan["kubernetes:apps/v1:StatefulSet mc-reach"], "a preview still shows every change")
	assert.Equal(t, "update", plan["kubernetes:apps/v1:StatefulSet mc-down"])
	ch := make(chan events.EngineEvent)
	done := make(chan struct{})
	failed := map[string]string{} // resource name -> error
	go func() {
		defer close(done)
		for e := range ch {
			if d := e.DiagnosticEvent; d != nil && d.Severity == "error" && d.URN != "" {
				failed[resource.URN(d.URN).Name()] = d.Message
			}
		}
	}()
	_, err := s.stack.Up(context.Background(), optup.ProgressStreams(&s.log), optup.ContinueOnError(), optup.EventStreams(ch))
	<-done
	require.Error(t, err, "cluster two is unreachable")
	delete(failed, "gitlab-runner-fleet-mc-unreachable") // the stack's own "update failed"
	require.NotEmpty(t, failed)
	for name, message := range failed {
		assert.True(t, strings.HasPrefix(name, "mc-down"), "only the unreachable cluster's fleet fails, not %s", name)
		assert.Contains(t, message, "configured Kubernetes cluster is unreachable", name)
	}
	assert.Contains(t, configToml(t, one, "mc-reach"), "concurrent = 7", "the reachable cluster's fleet converged")
	waitReadyIn(t, one, "gitlab-runner-mc-reach", "mc-reach")
	assert.Equal(t, before, len(deployment(t, s).Resources), "nothing dropped from the state")
	assert.Equal(t, downID, s.runnerID(t, "mc-down"), "the runner stays")
	assert.Contains(t, s.log.String(), "fleet mc-down: cannot read the rollout", "its rollout could not be read")

	// Once the cluster is back, its objects are as they were, and the next up
	// applies the change there.
	two.start(t)
	assert.Contains(t, configToml(t, two, "mc-down"), "concurrent = 10")
	assert.Len(t, two.objectsOf(t, "pods", "mc-down"), 2)
	up := s.up(t)
	assert.NotEmpty(t, changes(*up.Summary.ResourceChanges))
	assert.Contains(t, configToml(t, two, "mc-down"), "concurrent = 7")
	assert.Equal(t, downID, s.runnerID(t, "mc-down"))
	again := s.up(t)
	assert.Empty(t, changes(*again.Summary.ResourceChanges), "converged")
}

// stateResource is a resource of the stack's state by type and name.
func stateResource(t testing.TB, s *testStack, typ, name string) *apitype.ResourceV3 {
	t.Helper()
	for _, r := range deployment(t, s).Resources {
		if string(r.Type) == typ && resource.URN(r.URN).Name() == name {
			return &r
		}
	}
	return nil
}

func jsonNumber(n int) string {
	data, _ := json.Marshal(n)
	return string(data)
}

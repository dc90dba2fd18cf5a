package settings_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// One decoder for every setting object: each unknown key and each value of
// the wrong type is reported at its own path, however deep, all at once.
func TestDecodeReportsEveryUnknownKeyAndWrongTypeAtItsPath(t *testing.T) {
	fleets, ps := settings.DecodeFleets(`[
		{"name":"a","runner":{"type":"instance_type"},"manager":{"replica":3,"podLabels":{"team":5}},
		 "executor":{"volumes":[{"mountPath":"/x","emptyDir":{"medum":"Memory"}}],"featureFlags":{"FF_X":"yes"}}},
		{"name":"b","runner":{"tags":"docker"},"cache":"s3"}
	]`)
	require.Len(t, fleets, 2, "every fleet is kept, at its index")
	assert.Equal(t, "a", fleets[0].Name)
	assert.Equal(t, "instance_type", fleets[0].Runner.Type, "the valid settings are decoded")
	assert.Equal(t, "/x", fleets[0].Executor.Volumes[0].MountPath)
	var got []string
	for _, p := range ps {
		got = append(got, p.String())
	}
	assert.ElementsMatch(t, []string{
		`fleets[0] (a).manager.replica: unknown setting (did you mean "replicas"?); known settings here: antiAffinity, checkInterval, concurrent, fsGroup, image, imagePullSecrets, logFormat, logLevel, monitoring, nodeSelector, podAnnotations, podLabels, registryCredentialsConfigKey, replicas, resources, rolloutTimeout, runAsGroup, runAsUser, runnerVersion, serviceAccountAnnotations, shutdownTimeout, terminationGracePeriodSeconds, tolerations`,
		`fleets[0] (a).manager.podLabels.team: must be a string, got number`,
		`fleets[0] (a).executor.volumes[0].emptyDir.medum: unknown setting (did you mean "medium"?); known settings here: medium, sizeLimit`,
		`fleets[0] (a).executor.featureFlags.FF_X: must be true or false, got string`,
		`fleets[1] (b).runner.tags: must be a list, got string`,
		`fleets[1] (b).cache: must be an object with the settings azure, existingSecret, gcs, path, s3, shared, type, got string`,
	}, got)
}

func TestDecodeKeepsLargeNumbersAndRefusesFractions(t *testing.T) {
	fleets, ps := settings.DecodeFleets(`[{"name":"a","runner":{"type":"project_type","projectId":9007199254740993},"manager":{"concurrent":2.5}}]`)
	assert.Equal(t, 9007199254740993, fleets[0].Runner.ProjectID, "ids beyond float64's precision stay exact")
	require.Len(t, ps, 1)
	assert.Equal(t, "fleets[0] (a).manager.concurrent: must be a whole number, got number", ps[0].String())
}

func TestDecodeRefusesWhatIsNotStructuredConfig(t *testing.T) {
	for raw, want := range map[string]string{
		`not json`:        "fleets: is not valid structured config",
		`[{"name":"a"}]x`: "fleets: is not valid structured config",
		`{"name":"a"}`:    "fleets: must be a non-empty list of fleets",
		`[]`:              "fleets: must be a non-empty list of fleets",
	} {
		_, ps := settings.DecodeFleets(raw)
		require.Len(t, ps, 1, raw)
		assert.Contains(t, ps[0].String(), want, raw)
	}
}

// The clusters setting and its apiServer objects go through the same decoder.
func TestDecodeClusters(t *testing.T) {
	clusters, ps := settings.DecodeClusters("clusters", `{"east":{"context":"east","apiServer":{"cidrs":["10.0.0.1/32"],"port":443}},"west":{"kubeconfig":"westKubeconfig"}}`)
	assert.Empty(t, ps)
	assert.Equal(t, 443, clusters["east"].APIServer.Port)
	assert.Equal(t, "westKubeconfig", clusters["west"].Kubeconfig)

	_, ps = settings.DecodeClusters("clusters", `{"east":{"context":5,"apiServer":{"cidr":["10.0.0.1/32"],"port":443}},"West_1":{"kubeconfig":"apiVersion: v1"},"a":{"context":"x"},"b":{"context":"x"}}`)
	var got []string
	for _, p := range ps {
		got = append(got, p.String())
	}
	assert.Contains(t, got, "clusters.east.context: must be a string, got number")
	assert.Contains(t, got, `clusters.east.apiServer.cidr: unknown setting (did you mean "cidrs"?); known settings here: cidrs, port`)
	assert.Contains(t, got, `clusters.east.apiServer.cidrs: must list the API server's addresses, e.g. ["10.0.0.10/32"]`)
	assert.Contains(t, got, `clusters.b: is reached exactly as cluster "a" (same kubeconfig and context): a cluster is named once, or fleets of both could claim the same namespaces`)
	for _, p := range got {
		assert.NotContains(t, p, "apiVersion: v1", "a pasted kubeconfig is never echoed")
	}
	assert.Contains(t, got, "clusters.West_1.kubeconfig: holds what looks like a kubeconfig, not the name of a setting: store the kubeconfig as a secret setting (`pulumi config set --secret West_1Kubeconfig < kubeconfig.yaml`) and name that setting here")
}

// A problem names its fleet by its name as well as its index; a fleet
// without a usable name by its index alone, and an odd name quoted so that
// the path still reads as one.
func TestProblemsNameTheirFleet(t *testing.T) {
	_, ps := settings.DecodeFleets(`[
		{"name":"docker-builds","executor":{"imag":"x"}},
		{"runner":{"tyep":"group_type"}},
		{"name":5,"manager":{"replicas":"two"}},
		{"name":"two words (x)","cache":{"tipe":"s3"}}
	]`)
	var got []string
	for _, p := range ps {
		got = append(got, p.Path)
	}
	assert.ElementsMatch(t, []string{
		"fleets[0] (docker-builds).executor.imag",
		"fleets[1].runner.tyep",
		"fleets[2].name",
		"fleets[2].manager.replicas",
		`fleets[3] ("two words (x)").cache.tipe`,
	}, got)
	assert.Equal(t, "fleets[1] (docker-builds)", settings.FleetPath(1, "docker-builds"))
	assert.Equal(t, "fleets[1]", settings.FleetPath(1, ""))
}

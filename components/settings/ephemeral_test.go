package settings_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// The ephemeral volumes a fleet's job pods have are those its pod spec
// patches add, each with its class and size; one without a size is refused,
// since nothing would bound its claim.
func TestEphemeralVolumesComeFromThePodSpecPatches(t *testing.T) {
	e := settings.ExecutorSettings{PodSpecPatches: []settings.PodSpecPatchSettings{
		{Name: "scratch", Patch: `{"volumes":[{"name":"scratch","ephemeral":{"volumeClaimTemplate":{"spec":{"storageClassName":"fast","resources":{"requests":{"storage":"10Gi"}}}}}}]}`},
		{Name: "no-volume", Patch: `{"priorityClassName":"x","volumes":[{"name":"cache","emptyDir":{}}]}`},
		{Name: "tmp", Patch: `{"volumes":[{"name":"tmp","ephemeral":{"volumeClaimTemplate":{"spec":{"resources":{"requests":{"storage":"1Gi"}}}}}}]}`},
	}}
	volumes, err := e.EphemeralVolumes()
	require.NoError(t, err)
	assert.ElementsMatch(t, []settings.EphemeralVolume{
		{Name: "scratch", StorageClass: "fast", Size: resource.MustParse("10Gi")},
		{Name: "tmp", Size: resource.MustParse("1Gi")},
	}, volumes)

	none, err := settings.ExecutorSettings{}.EphemeralVolumes()
	require.NoError(t, err)
	assert.Empty(t, none)

	ps := planned(fleetWith(t, `{"executor":{"podSpecPatches":[{"name":"scratch","patch":"{\"volumes\":[{\"name\":\"scratch\",\"ephemeral\":{\"volumeClaimTemplate\":{\"spec\":{\"storageClassName\":\"fast\"}}}}]}"}]}}`))
	require.Error(t, ps.Err())
	assert.Contains(t, ps.Err().Error(), `fleets[0] (builds).executor.podSpecPatches: adds the ephemeral volume "scratch" without a size: set its volumeClaimTemplate.spec.resources.requests.storage`)
}

package settings_test

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A pod spec patch may not set what the admission policy holds job pods to
// (the fleet's typed settings): the runner would build pods the API server
// refuses. Other fields, ephemeral volumes among them, pass.
func TestPodSpecPatchesMayNotSetFencedFields(t *testing.T) {
	for patch, want := range map[string]string{
		`{"nodeName":"n1"}`:                       "sets nodeName",
		`{"nodeSelector":{"pool":"x"}}`:           "sets nodeSelector, which the admission policy holds job pods to the fleet's own settings for (the API server would refuse every job pod); use executor.nodeSelector",
		`{"tolerations":[{"operator":"Exists"}]}`: "sets tolerations",
		`{"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[]}}}}`: "sets affinity.nodeAffinity",
		`{"schedulerName":"x"}`:                        "sets schedulerName",
		`{"priorityClassName":"system-node-critical"}`: "sets priorityClassName",
		`{"serviceAccountName":"deployer"}`:            "sets serviceAccountName",
		`{"automountServiceAccountToken":true}`:        "sets automountServiceAccountToken",
		`{"volumes":[{"name":"t","projected":{"sources":[{"serviceAccountToken":{"audience":"vault","path":"t"}}]}}]}`: "sets a projected token",
		`{"containers":[{"name":"build","imagePullPolicy":"Never"}]}`:                                                  "sets imagePullPolicy, which",
		`{"initContainers":[{"name":"init-permissions","imagePullPolicy":"IfNotPresent"}]}`:                            "sets imagePullPolicy",
	} {
		ps := planned(fleetWith(t, `{"executor":{"podSpecPatches":[{"name":"p","patch":`+strconv.Quote(patch)+`}]}}`))
		if assert.Error(t, ps.Err(), patch) {
			assert.Contains(t, ps.Err().Error(), "fleets[0] (builds).executor.podSpecPatches[0].patch: "+want, patch)
		}
	}
	for _, patch := range []string{
		`{"containers":[{"name":"build","env":[{"name":"X","value":"1"}]}]}`,
		`{"volumes":[{"name":"s","ephemeral":{"volumeClaimTemplate":{"spec":{"resources":{"requests":{"storage":"1Gi"}}}}}}]}`,
		`{"affinity":{"podAntiAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[]}}}`,
	} {
		ps := planned(fleetWith(t, `{"executor":{"podSpecPatches":[{"name":"p","patch":`+strconv.Quote(patch)+`}]}}`))
		assert.NoError(t, ps.Err(), patch)
	}
}

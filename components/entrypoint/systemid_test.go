package entrypoint_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/entrypoint"
)

// SystemID is what the script itself writes for a pod (POD_NAMESPACE is
// "runners" in these runs).
func TestSystemIDIsTheScriptsOwn(t *testing.T) {
	for _, pod := range []string{"builds-0", "builds-1", "a-very-long-fleet-name-of-forty-letters-12"} {
		r := runEntrypoint(t, pod, "glrt-abc", 0)
		require.NoError(t, r.err, r.out)
		assert.Equal(t, r.systemID(t), entrypoint.SystemID("runners", pod))
	}
	assert.NotEqual(t, entrypoint.SystemID("runners", "builds-0"), entrypoint.SystemID("other", "builds-0"))
}

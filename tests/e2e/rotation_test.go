//go:build e2e

package e2e

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With runner.rotateEvery, the first `up` of a new period makes a new runner
// and token in the slot the managers do not use (read from the cluster) and
// rolls the pods onto them; the runner they used is kept for managers not yet
// rolled and deleted by the first `up` after the rollout (here the next
// period's); `up`s within a period change nothing.
func TestRotationReplacesTheRunnerEachPeriod(t *testing.T) {
	t.Parallel()
	const name = "rotate"
	ns := "gitlab-runner-" + name
	f := groupFleet(name, 33)
	f["runner"].(map[string]any)["rotateEvery"] = "1m"
	s := newStack(t, name, f)
	s.up(t)
	waitReady(t, ns, name)
	oldID, oldToken := s.runnerID(t, name), tokenOf(t, name)
	assert.Contains(t, runnerTemplate(t, ns, name), "FF_DISABLE_AUTOMATIC_TOKEN_ROTATION = true", "the managers never rotate it themselves")

	rotatesAfter, err := time.Parse(time.RFC3339, fleetOutput(t, s, name, "tokenRotatesAfter"))
	require.NoError(t, err)
	if time.Until(rotatesAfter) > 40*time.Second { // a preview takes seconds, more on a busy machine
		steps, _ := s.previewSteps(t)
		delete(steps, "pulumi:pulumi:Stack gitlab-runner-fleet-"+name)
		assert.Empty(t, steps, "within the period nothing changes")
	}
	time.Sleep(time.Until(rotatesAfter) + time.Second)

	before := revision(t, ns, name)
	ch := make(chan events.EngineEvent)
	var order []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range ch {
			if e.ResOutputsEvent != nil {
				md := e.ResOutputsEvent.Metadata
				order = append(order, string(md.Op)+" "+md.Type)
			}
		}
	}()
	s.up(t, optup.EventStreams(ch))
	<-done
	const runner, workload = "gitlab:index/userRunner:UserRunner", "kubernetes:apps/v1:StatefulSet"
	// The new runner's slot was empty (the first `up` made one runner) or
	// held a runner no manager uses (then it is replaced).
	created, rolled := slices.IndexFunc(order, func(op string) bool {
		return op == "create "+runner || op == "create-replacement "+runner
	}), slices.Index(order, "update "+workload)
	require.True(t, created >= 0 && rolled >= 0, "steps: %v", order)
	assert.True(t, created < rolled, "new runner first, then the pods roll: %v", order)
	waitReady(t, ns, name)
	newID := s.runnerID(t, name)
	assert.NotEqual(t, oldID, newID, "a new runner")
	assert.NotEqual(t, oldToken, tokenOf(t, name), "its token is in the Secret")
	assert.NotEqual(t, before, revision(t, ns, name), "the pods rolled onto it")
	status, _ := h.gitlab(t, http.MethodGet, "runners/"+oldID, nil)
	assert.Equal(t, http.StatusOK, status, "the old runner is kept for managers not yet rolled")
	status, _ = h.gitlab(t, http.MethodGet, "runners/"+newID, nil)
	assert.Equal(t, http.StatusOK, status)
	next, err := time.Parse(time.RFC3339, fleetOutput(t, s, name, "tokenRotatesAfter"))
	require.NoError(t, err)
	assert.True(t, next.After(rotatesAfter), "the next rotation is a period later")

	time.Sleep(time.Until(next) + time.Second)
	s.up(t)
	status, _ = h.gitlab(t, http.MethodGet, "runners/"+oldID, nil)
	assert.Equal(t, http.StatusNotFound, status, "once every manager has rolled, the old runner is deleted")
	status, _ = h.gitlab(t, http.MethodGet, "runners/"+newID, nil)
	assert.Equal(t, http.StatusOK, status, "the runner the managers use stays")
}

//go:build e2e

package e2e

// GitLab tests: the fleet against a GitLab that is as strict as the real one
// (tools/gitlab: roles, scopes, GitLab's answers) through the gitlab plugin
// stand-in (GitLab's client-go, the official provider's behaviour). Stacks
// and fleets are named gitlab-* so no other test sees them.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gitlabUserToken mints a personal access token for a user of the
// stand-in's default seed (as GitLab's administrator would).
func gitlabUserToken(t *testing.T, userID int, scopes ...string) string {
	t.Helper()
	status, body := h.gitlab(t, http.MethodPost, fmt.Sprintf("users/%d/personal_access_tokens", userID),
		map[string]any{"name": t.Name(), "scopes": scopes})
	require.Equal(t, http.StatusCreated, status, string(body))
	var pat struct {
		Token string `json:"token"`
	}
	require.NoError(t, json.Unmarshal(body, &pat))
	require.NotEmpty(t, pat.Token)
	return pat.Token
}

// gitlabKubeObjects lists the fleet's objects of the given kinds in the
// cluster, in any namespace (kubectl's kind/name).
func gitlabKubeObjects(t *testing.T, fleetName, kinds string) []string {
	t.Helper()
	return strings.Fields(h.mustKubectl(t, "get", kinds, "-A", "-l", "app.kubernetes.io/instance="+fleetName, "-o", "name"))
}

// gitlabNamespaces lists which of the fleet's namespaces exist.
func gitlabNamespaces(t *testing.T, fleetName string) []string {
	t.Helper()
	var found []string
	for _, ns := range []string{"gitlab-runner-" + fleetName, "gitlab-runner-" + fleetName + "-jobs"} {
		if _, err := h.kubectl(t, "get", "namespace", ns); err == nil {
			found = append(found, ns)
		}
	}
	return found
}

// A fleet for a group its token's user does not own: `up` fails with
// GitLab's own answer, no runner exists in GitLab, and nothing exists in
// Kubernetes: every Kubernetes object of a fleet waits for its runner
// (components/fleet.go).
func TestGitlabGroupNotOwnedFailsUp(t *testing.T) {
	const name = "gitlab-notowner"
	// The developer of the default seed is a Developer in group 1 (the dev
	// stack's group): it sees the group but may not create runners there.
	// The scopes the provider needs: create_runner to create, manage_runner
	// to read the runner back, update and delete it, read_user for the
	// early authentication check.
	scopes := []string{"create_runner", "manage_runner", "read_user"}
	token := gitlabUserToken(t, 4, scopes...)
	s := newStack(t, "gitlab-not-owner", groupFleet(name, 1))
	ctx := context.Background()
	require.NoError(t, s.stack.SetConfig(ctx, "gitlab:token", auto.ConfigValue{Value: token, Secret: true}))

	_, err := s.stack.Up(ctx, optup.ProgressStreams(&s.log))
	require.Error(t, err, "GitLab refuses the runner")
	assert.Contains(t, err.Error(), "couldn't create new GitLab Runner: POST "+h.gitlabAPI+"user/runners: 403 {message: 403 Forbidden - Insufficient permissions}")
	assert.NotContains(t, err.Error(), token)

	assert.Empty(t, faultRunners(t, faultDescription(s, name)), "no runner in GitLab")
	assert.Empty(t, gitlabKubeObjects(t, name, "secrets,statefulsets,pods"), "no token Secret, StatefulSet or pod")
	assert.Empty(t, gitlabNamespaces(t, name), "no namespace")
	assert.Empty(t, gitlabKubeObjects(t, name, "serviceaccounts,roles,rolebindings,configmaps,services,poddisruptionbudgets,networkpolicies"), "no object at all")
	out, _ := h.kubectl(t, "get", "validatingadmissionpolicies", "-o", "name")
	assert.NotContains(t, out, name, "no admission policy")
	for _, r := range deployment(t, s).Resources {
		if r.Custom && !r.External && !strings.HasPrefix(string(r.Type), "pulumi:providers:") { // reads (the API server's addresses) create nothing
			t.Errorf("the state holds %s", r.URN)
		}
	}

	// The same stack with a token of the group's Owner goes through.
	ownerToken := gitlabUserToken(t, 2, scopes...)
	require.NoError(t, s.stack.SetConfig(ctx, "gitlab:token", auto.ConfigValue{Value: ownerToken, Secret: true}))
	s.up(t)
	waitReady(t, "gitlab-runner-"+name, name)
	runners := faultRunners(t, faultDescription(s, name))
	require.Len(t, runners, 1)
	assert.Equal(t, fmt.Sprint(runners[0].ID), s.runnerID(t, name))
}

// A runner deleted by hand in GitLab: refresh drops it from the state (the
// provider's Read gets 404), the next up creates a new one, whose token
// reaches the managers, and GitLab holds exactly one runner for the fleet.
func TestGitlabRunnerDeletedByHandIsRecreated(t *testing.T) {
	const name = "gitlab-deleted"
	ns := "gitlab-runner-" + name
	s := newStack(t, "gitlab-deleted", groupFleet(name, 61))
	s.up(t)
	waitReady(t, ns, name)
	oldID := s.runnerID(t, name)
	oldToken := tokenOf(t, name)

	status, body := h.gitlab(t, http.MethodDelete, "runners/"+oldID, nil)
	require.Equal(t, http.StatusNoContent, status, string(body))

	res := s.refresh(t)
	require.NotNil(t, res.Summary.ResourceChanges)
	assert.Equal(t, 1, (*res.Summary.ResourceChanges)["delete"], "refresh drops the runner GitLab no longer has: %v", *res.Summary.ResourceChanges)
	for _, r := range deployment(t, s).Resources {
		assert.NotEqual(t, "gitlab:index/userRunner:UserRunner", string(r.Type), "the runner is out of the state")
	}

	s.up(t)
	runners := faultRunners(t, faultDescription(s, name))
	require.Len(t, runners, 1, "exactly one runner for the fleet")
	newID := s.runnerID(t, name)
	assert.Equal(t, fmt.Sprint(runners[0].ID), newID)
	assert.NotEqual(t, oldID, newID)

	// The managers' pod template mounts the Secret with the new token (the
	// pods then roll at the managers' own pace: they drain their jobs).
	secret, newToken := tokenSecret(t, name)
	assert.Equal(t, secret, faultMountedSecret(t, name))
	assert.NotEqual(t, oldToken, newToken, "the managers got the new runner's token")
	status, body = h.gitlab(t, http.MethodPost, "runners/verify", map[string]any{"token": newToken})
	assert.Equal(t, http.StatusOK, status, "the Secret's token is the live runner's: %s", body)
	status, _ = h.gitlab(t, http.MethodPost, "runners/verify", map[string]any{"token": oldToken})
	assert.Equal(t, http.StatusForbidden, status)
	faultAssertNoChanges(t, s)
}

// Without the refresh, the state still names the deleted runner and a
// destroy fails on it, as with the official provider; refresh, then
// destroy, leaves nothing behind.
func TestGitlabDestroyAfterRunnerDeletedByHand(t *testing.T) {
	const name = "gitlab-gone"
	s := newStack(t, "gitlab-gone", groupFleet(name, 62))
	s.up(t)
	id := s.runnerID(t, name)
	status, body := h.gitlab(t, http.MethodDelete, "runners/"+id, nil)
	require.Equal(t, http.StatusNoContent, status, string(body))

	ctx := context.Background()
	_, err := s.stack.Destroy(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unable to delete runner: 404 Not Found")

	s.refresh(t)
	_, err = s.stack.Destroy(ctx)
	require.NoError(t, err, "after refresh, destroy goes through; engine output:\n%s", tail(s.log.String(), 40))
	assert.Empty(t, gitlabKubeObjects(t, name, "serviceaccounts,roles,rolebindings,secrets,configmaps,services,statefulsets,poddisruptionbudgets"))
	assert.Empty(t, gitlabNamespaces(t, name))
	assert.Empty(t, faultRunners(t, faultDescription(s, name)))
}

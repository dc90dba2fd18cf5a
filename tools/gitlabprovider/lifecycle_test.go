package gitlabprovider

import (
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

var tokenRE = regexp.MustCompile(`^glrt-[A-Za-z0-9_-]{20,}$`)

func TestUserRunnerLifecycle(t *testing.T) {
	h := newHarness(t, nil)
	inputs := map[string]any{
		"runnerType": "group_type", "groupId": 42, "description": "fleet runner",
		"tagLists": []string{"k8s", "linux"}, "untagged": false, "locked": true, "paused": false,
		"accessLevel": "ref_protected", "maximumTimeout": 3600, "maintenanceNote": "managed by pulumi",
	}

	// Create.
	id, outs, outStruct := h.create(inputs)
	assert.Equal(t, "1", id)
	tok := outs[pToken]
	require.True(t, tok.IsSecret(), "token must be a secret output")
	assert.Regexp(t, tokenRE, tok.SecretValue().Element.StringValue())
	for key, want := range map[string]resource.PropertyValue{
		pRunnerType: resource.NewStringProperty("group_type"), pGroupID: resource.NewNumberProperty(42),
		pDescription: resource.NewStringProperty("fleet runner"), pTagLists: stringList([]string{"k8s", "linux"}),
		pUntagged: resource.NewBoolProperty(false), pLocked: resource.NewBoolProperty(true),
		pPaused: resource.NewBoolProperty(false), pAccessLevel: resource.NewStringProperty("ref_protected"),
		pMaximumTimeout: resource.NewNumberProperty(3600), pMaintenanceNote: resource.NewStringProperty("managed by pulumi"),
	} {
		assert.True(t, want.DeepEquals(outs[resource.PropertyKey(key)]), "%s = %v", key, outs[resource.PropertyKey(key)])
	}
	_, hasProject := outs[pProjectID]
	assert.False(t, hasProject)
	// The token really authenticates the runner.
	status, _ := h.apiDo("POST", "/api/v4/runners/verify", map[string]any{
		"token": tok.SecretValue().Element.StringValue(), "system_id": "s_000000000000",
	})
	assert.Equal(t, http.StatusOK, status)

	// Read keeps the token (GitLab does not return it) and finds no drift.
	read, err := h.prov.Read(h.ctx, &pulumirpc.ReadRequest{Id: id, Urn: runnerURN, Properties: outStruct, Inputs: h.props(inputs)})
	require.NoError(t, err)
	assert.Equal(t, id, read.Id)
	readOuts := unmarshal(t, read.Properties)
	assert.True(t, readOuts[pToken].DeepEquals(tok))
	assert.True(t, readOuts.DeepEquals(outs), "read %v\ncreate %v", readOuts, outs)
	readIns := unmarshal(t, read.Inputs)
	_, hasToken := readIns[pToken]
	assert.False(t, hasToken, "the token is not an input")
	assert.Len(t, readIns, len(inputs))

	// No change, then an in-place update.
	diff, err := h.prov.Diff(h.ctx, &pulumirpc.DiffRequest{Id: id, Urn: runnerURN, Olds: read.Properties, News: h.props(inputs)})
	require.NoError(t, err)
	assert.Equal(t, pulumirpc.DiffResponse_DIFF_NONE, diff.Changes)

	changed := copyMap(inputs)
	changed["description"] = "renamed"
	changed["paused"] = true
	changed["tagLists"] = []string{"linux", "k8s", "gpu"}
	diff, err = h.prov.Diff(h.ctx, &pulumirpc.DiffRequest{Id: id, Urn: runnerURN, Olds: read.Properties, News: h.props(changed)})
	require.NoError(t, err)
	assert.Equal(t, pulumirpc.DiffResponse_DIFF_SOME, diff.Changes)
	assert.Empty(t, diff.Replaces)
	assert.ElementsMatch(t, []string{"description", "paused", "tagLists"}, diff.Diffs)
	assert.Equal(t, pulumirpc.PropertyDiff_UPDATE, diff.DetailedDiff["description"].Kind)

	upd, err := h.prov.Update(h.ctx, &pulumirpc.UpdateRequest{Id: id, Urn: runnerURN, Olds: read.Properties, News: h.props(changed)})
	require.NoError(t, err)
	updOuts := unmarshal(t, upd.Properties)
	assert.Equal(t, "renamed", updOuts[pDescription].StringValue())
	assert.True(t, updOuts[pPaused].BoolValue())
	assert.True(t, updOuts[pTagLists].DeepEquals(stringList([]string{"linux", "k8s", "gpu"})), "the program's tag order is kept")
	assert.True(t, updOuts[pToken].DeepEquals(tok), "an update keeps the token")
	_, body := h.apiDo("GET", "/api/v4/runners/"+id, nil)
	assert.Equal(t, "renamed", body["description"])
	assert.Equal(t, true, body["paused"])

	// A new group replaces the runner.
	moved := copyMap(changed)
	moved["groupId"] = 43
	diff, err = h.prov.Diff(h.ctx, &pulumirpc.DiffRequest{Id: id, Urn: runnerURN, Olds: upd.Properties, News: h.props(moved)})
	require.NoError(t, err)
	assert.Equal(t, []string{"groupId"}, diff.Replaces)
	assert.Equal(t, pulumirpc.PropertyDiff_UPDATE_REPLACE, diff.DetailedDiff["groupId"].Kind)
	assert.False(t, diff.DeleteBeforeReplace)

	// Delete; the runner is gone, and Read says so with an empty id.
	_, err = h.prov.Delete(h.ctx, &pulumirpc.DeleteRequest{Id: id, Urn: runnerURN, Properties: upd.Properties})
	require.NoError(t, err)
	status, _ = h.apiDo("GET", "/api/v4/runners/"+id, nil)
	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, 0, h.api.RunnerCount())
	read, err = h.prov.Read(h.ctx, &pulumirpc.ReadRequest{Id: id, Urn: runnerURN, Properties: upd.Properties})
	require.NoError(t, err)
	assert.Empty(t, read.Id)
	// Deleting what is already gone fails, as with the official provider:
	// the state is out of date and `pulumi refresh` is the way out.
	_, err = h.prov.Delete(h.ctx, &pulumirpc.DeleteRequest{Id: id, Urn: runnerURN})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unable to delete runner: 404 Not Found")
}

func TestReadOfRunnerDeletedInGitLab(t *testing.T) {
	h := newHarness(t, nil)
	id, _, outs := h.create(map[string]any{"runnerType": "instance_type"})
	status, _ := h.apiDo("DELETE", "/api/v4/runners/"+id, nil)
	require.Equal(t, http.StatusNoContent, status)
	read, err := h.prov.Read(h.ctx, &pulumirpc.ReadRequest{Id: id, Urn: runnerURN, Properties: outs})
	require.NoError(t, err)
	assert.Empty(t, read.Id)
	assert.Nil(t, read.Properties)
}

func TestRefreshShowsDrift(t *testing.T) {
	h := newHarness(t, nil)
	inputs := map[string]any{"runnerType": "project_type", "projectId": 7, "description": "a"}
	id, _, outs := h.create(inputs)
	status, _ := h.apiDo("PUT", "/api/v4/runners/"+id, map[string]any{"description": "changed by hand", "paused": true})
	require.Equal(t, http.StatusOK, status)

	read, err := h.prov.Read(h.ctx, &pulumirpc.ReadRequest{Id: id, Urn: runnerURN, Properties: outs, Inputs: h.props(inputs)})
	require.NoError(t, err)
	ins := unmarshal(t, read.Inputs)
	assert.Equal(t, "changed by hand", ins[pDescription].StringValue())
	_, hasPaused := ins[pPaused]
	assert.False(t, hasPaused, "inputs the program leaves out stay out")
	assert.Equal(t, float64(7), ins[pProjectID].NumberValue())

	// The next diff against the program puts the description back.
	diff, err := h.prov.Diff(h.ctx, &pulumirpc.DiffRequest{Id: id, Urn: runnerURN, Olds: read.Properties, News: h.props(inputs)})
	require.NoError(t, err)
	assert.Equal(t, []string{"description"}, diff.Diffs)
}

func TestImportReadsInputs(t *testing.T) {
	h := newHarness(t, nil)
	inputs := map[string]any{"runnerType": "group_type", "groupId": 5, "tagLists": []string{"a"}}
	id, _, _ := h.create(inputs)
	read, err := h.prov.Read(h.ctx, &pulumirpc.ReadRequest{Id: id, Urn: runnerURN})
	require.NoError(t, err)
	assert.Equal(t, id, read.Id)
	outs := unmarshal(t, read.Properties)
	_, hasToken := outs[pToken]
	assert.False(t, hasToken, "the token cannot be imported")
	ins := unmarshal(t, read.Inputs)
	assert.Equal(t, "group_type", ins[pRunnerType].StringValue())
	assert.True(t, ins[pTagLists].DeepEquals(stringList([]string{"a"})))
	// GitLab's answer lists the runner's group, but the official provider
	// does not read it back: an imported runner has no groupId.
	for _, m := range []resource.PropertyMap{outs, ins} {
		_, hasGroup := m[pGroupID]
		_, hasProject := m[pProjectID]
		assert.False(t, hasGroup || hasProject, "import must not invent groupId/projectId: %v", m)
	}
	// So the program's groupId shows as a replacement on the next preview.
	diff, err := h.prov.Diff(h.ctx, &pulumirpc.DiffRequest{Id: id, Urn: runnerURN, Olds: read.Properties, News: h.props(inputs)})
	require.NoError(t, err)
	assert.Equal(t, []string{"groupId"}, diff.Replaces)
}

func TestSecretInputsStaySecret(t *testing.T) {
	h := newHarness(t, nil)
	_, outs, _ := h.create(map[string]any{"runnerType": "instance_type", "description": secret("hidden"), "maintenanceNote": "plain"})
	require.True(t, outs[pDescription].IsSecret())
	assert.Equal(t, "hidden", outs[pDescription].SecretValue().Element.StringValue())
	assert.False(t, outs[pMaintenanceNote].IsSecret())
	_, body := h.apiDo("GET", "/api/v4/runners/1", nil)
	assert.Equal(t, "hidden", body["description"])
}

func TestPreview(t *testing.T) {
	h := newHarness(t, nil)
	inputs := map[string]any{"runnerType": "instance_type", "description": unknownValue{}, "paused": true}
	res, err := h.prov.Create(h.ctx, &pulumirpc.CreateRequest{Urn: runnerURN, Properties: h.props(inputs), Preview: true})
	require.NoError(t, err)
	assert.Equal(t, 0, h.api.RunnerCount(), "a preview creates nothing")
	outs := unmarshal(t, res.Properties)
	require.True(t, outs[pToken].IsSecret())
	assert.True(t, outs[pToken].SecretValue().Element.IsComputed(), "the token is not known before creation")
	assert.True(t, outs[pDescription].IsComputed())
	assert.True(t, outs[pTagLists].IsComputed(), "GitLab chooses what is left out")
	assert.True(t, outs[pPaused].BoolValue())

	// An update preview keeps the known token: an update does not change it.
	id, created, createdStruct := h.create(map[string]any{"runnerType": "instance_type"})
	upd, err := h.prov.Update(h.ctx, &pulumirpc.UpdateRequest{Id: id, Urn: runnerURN, Olds: createdStruct,
		News: h.props(map[string]any{"runnerType": "instance_type", "description": "next"}), Preview: true})
	require.NoError(t, err)
	updOuts := unmarshal(t, upd.Properties)
	assert.True(t, updOuts[pToken].DeepEquals(created[pToken]))
	assert.Equal(t, "next", updOuts[pDescription].StringValue())
	_, body := h.apiDo("GET", "/api/v4/runners/"+id, nil)
	assert.Equal(t, "", body["description"], "a preview changes nothing")
}

func TestOtherResourceTypesAreRefused(t *testing.T) {
	h := newHarness(t, nil)
	_, err := h.prov.Check(h.ctx, &pulumirpc.CheckRequest{
		Urn: "urn:pulumi:dev::fleet::gitlab:index/runner:Runner::r", News: h.props(map[string]any{}),
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "serves only gitlab:index/userRunner:UserRunner")
}

func copyMap(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

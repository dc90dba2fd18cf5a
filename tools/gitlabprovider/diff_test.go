package gitlabprovider

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func TestDiff(t *testing.T) {
	olds := map[string]any{
		"runnerType": "group_type", "groupId": 1, "description": "d", "tagLists": []string{"a", "b"},
		"untagged": true, "locked": false, "paused": false, "accessLevel": "not_protected",
		"maximumTimeout": 0, "maintenanceNote": "", "token": secret("glrt-xxxxxxxxxxxxxxxxxxxx"),
	}
	base := map[string]any{"runnerType": "group_type", "groupId": 1, "description": "d"}
	with := func(kv ...any) map[string]any {
		m := copyMap(base)
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return m
	}
	type want struct {
		changes  []string
		replaces []string
		kinds    map[string]pulumirpc.PropertyDiff_Kind
	}
	tests := []struct {
		name   string
		news   map[string]any
		ignore []string
		want   want
	}{
		{"same", base, nil, want{}},
		{"left-out inputs keep GitLab's values", with("description", nil), nil, want{}},
		{"tag order does not matter", with("tagLists", []string{"b", "a"}), nil, want{}},
		{"secret-wrapped equal value", with("description", secret("d")), nil, want{}},
		{"description", with("description", "e"), nil,
			want{[]string{"description"}, nil, map[string]pulumirpc.PropertyDiff_Kind{"description": pulumirpc.PropertyDiff_UPDATE}}},
		{"tags", with("tagLists", []string{"a"}), nil, want{changes: []string{"tagLists"}}},
		{"timeout set", with("maximumTimeout", 3600), nil, want{changes: []string{"maximumTimeout"}}},
		{"unknown value", with("paused", unknownValue{}), nil, want{changes: []string{"paused"}}},
		{"group replaces", with("groupId", 2), nil,
			want{[]string{"groupId"}, []string{"groupId"}, map[string]pulumirpc.PropertyDiff_Kind{"groupId": pulumirpc.PropertyDiff_UPDATE_REPLACE}}},
		{"type replaces", with("runnerType", "project_type", "groupId", nil, "projectId", 5), nil,
			want{[]string{"runnerType", "groupId", "projectId"}, []string{"runnerType", "groupId", "projectId"},
				map[string]pulumirpc.PropertyDiff_Kind{
					"runnerType": pulumirpc.PropertyDiff_UPDATE_REPLACE, "groupId": pulumirpc.PropertyDiff_DELETE_REPLACE,
					"projectId": pulumirpc.PropertyDiff_ADD_REPLACE,
				}}},
		{"unknown group replaces", with("groupId", unknownValue{}), nil, want{changes: []string{"groupId"}, replaces: []string{"groupId"}}},
		{"ignoreChanges", with("description", "e", "tagLists", []string{"z"}), []string{"description", "tagLists[0]"}, want{}},
	}
	p := newTestProvider()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := p.Diff(t.Context(), &pulumirpc.DiffRequest{
				Id: "1", Urn: runnerURN, Olds: marshal(t, olds), News: marshal(t, tc.news), IgnoreChanges: tc.ignore,
			})
			require.NoError(t, err)
			assert.ElementsMatch(t, tc.want.changes, res.Diffs)
			assert.ElementsMatch(t, tc.want.replaces, res.Replaces)
			if len(tc.want.changes) == 0 {
				assert.Equal(t, pulumirpc.DiffResponse_DIFF_NONE, res.Changes)
			} else {
				assert.Equal(t, pulumirpc.DiffResponse_DIFF_SOME, res.Changes)
			}
			assert.True(t, res.HasDetailedDiff)
			for k, kind := range tc.want.kinds {
				require.Contains(t, res.DetailedDiff, k)
				assert.Equal(t, kind, res.DetailedDiff[k].Kind, k)
				assert.True(t, res.DetailedDiff[k].InputDiff)
			}
		})
	}
}

package gitlabprovider

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		inputs map[string]any
		want   map[string]string // property -> part of the reason
	}{
		{"instance", map[string]any{"runnerType": "instance_type"}, nil},
		{"full group", map[string]any{"runnerType": "group_type", "groupId": 1, "description": "d", "tagLists": []string{"a"},
			"untagged": false, "locked": true, "paused": false, "accessLevel": "not_protected", "maximumTimeout": 600, "maintenanceNote": "n"}, nil},
		{"secret and unknown values", map[string]any{"runnerType": secret("project_type"), "projectId": unknownValue{}, "description": secret("s")}, nil},
		{"missing runnerType", map[string]any{}, map[string]string{"runnerType": "is required"}},
		{"bad runnerType", map[string]any{"runnerType": "shared"}, map[string]string{"runnerType": "must be one of"}},
		{"group without groupId", map[string]any{"runnerType": "group_type"}, map[string]string{"groupId": "required when runnerType is group_type"}},
		{"project without projectId", map[string]any{"runnerType": "project_type"}, map[string]string{"projectId": "required when runnerType is project_type"}},
		{"instance with groupId", map[string]any{"runnerType": "instance_type", "groupId": 1}, map[string]string{"runnerType": "project or group ID was provided"}},
		{"instance with projectId", map[string]any{"runnerType": "instance_type", "projectId": 1}, map[string]string{"runnerType": "project or group ID was provided"}},
		{"instance with an unknown groupId", map[string]any{"runnerType": "instance_type", "groupId": unknownValue{}}, map[string]string{"runnerType": "project or group ID was provided"}},
		{"group with projectId", map[string]any{"runnerType": "group_type", "groupId": 1, "projectId": 2}, map[string]string{"projectId": "must not be provided when runnerType is group_type"}},
		{"project with groupId", map[string]any{"runnerType": "project_type", "projectId": 2, "groupId": 1}, map[string]string{"groupId": "must not be provided when runnerType is project_type"}},
		{"groupId not whole", map[string]any{"runnerType": "group_type", "groupId": 1.5}, map[string]string{"groupId": "whole number"}},
		{"groupId negative", map[string]any{"runnerType": "group_type", "groupId": -1}, map[string]string{"groupId": "positive"}},
		{"bad accessLevel", map[string]any{"runnerType": "instance_type", "accessLevel": "protected"}, map[string]string{"accessLevel": "not_protected, ref_protected"}},
		{"short timeout", map[string]any{"runnerType": "instance_type", "maximumTimeout": 599}, map[string]string{"maximumTimeout": "at least 600"}},
		{"long note", map[string]any{"runnerType": "instance_type", "maintenanceNote": strings.Repeat("x", 1025)}, map[string]string{"maintenanceNote": "1024"}},
		{"bad types", map[string]any{"runnerType": "instance_type", "paused": "yes", "tagLists": "a,b", "description": 3},
			map[string]string{"paused": "boolean", "tagLists": "list of strings", "description": "string"}},
		{"untagged off without tags", map[string]any{"runnerType": "instance_type", "untagged": false}, map[string]string{"tagLists": "untagged is false"}},
		{"unknown property", map[string]any{"runnerType": "instance_type", "tagList": []string{"a"}}, map[string]string{"tagList": "not a property"}},
	}
	p := newTestProvider()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			news := marshal(t, tc.inputs)
			res, err := p.Check(t.Context(), &pulumirpc.CheckRequest{Urn: runnerURN, News: news})
			require.NoError(t, err)
			got := map[string]string{}
			for _, f := range res.Failures {
				got[f.Property] = f.Reason
			}
			require.Len(t, got, len(tc.want), "failures: %v", got)
			for prop, part := range tc.want {
				assert.Contains(t, got[prop], part)
				assert.True(t, strings.HasPrefix(got[prop], prop), "the reason names the property: %q", got[prop])
			}
			assert.Equal(t, news, res.Inputs, "inputs are returned unchanged")
		})
	}
}

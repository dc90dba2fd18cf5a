package gitlabprovider

import (
	"context"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Diff compares the new inputs with the current state (the outputs, which a
// refresh brings up to date, so drift made in GitLab is corrected).
// runnerType, groupId and projectId replace the runner; the rest updates it.
// An optional input that is left out keeps GitLab's value and is no change,
// except groupId and projectId, which are not chosen by GitLab.
func (p *Provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	if err := checkType(req.GetType(), req.GetUrn()); err != nil {
		return nil, err
	}
	opts := plugin.MarshalOptions{Label: "diff", KeepUnknowns: true, KeepSecrets: true, SkipNulls: true}
	olds, err := plugin.UnmarshalProperties(req.GetOlds(), opts)
	if err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), opts)
	if err != nil {
		return nil, err
	}
	ignored := map[string]bool{}
	for _, path := range req.GetIgnoreChanges() {
		ignored[topLevel(path)] = true
	}

	resp := &pulumirpc.DiffResponse{
		Changes: pulumirpc.DiffResponse_DIFF_NONE, HasDetailedDiff: true,
		DetailedDiff: map[string]*pulumirpc.PropertyDiff{},
	}
	for _, key := range inputKeys {
		if ignored[key] {
			continue
		}
		k := resource.PropertyKey(key)
		o, inOld := olds[k]
		n, inNew := news[k]
		replace := replaceKeys[key]
		var kind pulumirpc.PropertyDiff_Kind
		switch {
		case !inNew && !(inOld && replace):
			continue // left out: GitLab's value stays
		case !inNew:
			kind = pulumirpc.PropertyDiff_DELETE
		case !inOld:
			kind = pulumirpc.PropertyDiff_ADD
		case isUnknown(n) || !sameValue(key, o, n):
			kind = pulumirpc.PropertyDiff_UPDATE
		default:
			continue
		}
		if replace {
			kind += pulumirpc.PropertyDiff_ADD_REPLACE - pulumirpc.PropertyDiff_ADD // ADD->ADD_REPLACE, ...
			resp.Replaces = append(resp.Replaces, key)
		}
		resp.Diffs = append(resp.Diffs, key)
		resp.DetailedDiff[key] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
	}
	if len(resp.Diffs) > 0 {
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return resp, nil
}

// sameValue compares two known values of key, ignoring secrecy; tag lists
// compare as sets.
func sameValue(key string, o, n resource.PropertyValue) bool {
	o, n = plain(o), plain(n)
	if key == pTagLists {
		ot, oerr := asStringList(o)
		nt, nerr := asStringList(n)
		if oerr == nil && nerr == nil {
			return sameStringSet(ot, nt)
		}
	}
	return o.DeepEquals(n)
}

// topLevel is the property an ignoreChanges path starts with
// ("tagLists[0]" -> "tagLists").
func topLevel(path string) string {
	if i := strings.IndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return path
}

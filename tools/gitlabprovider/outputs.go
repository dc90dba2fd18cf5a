package gitlabprovider

import (
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// runnerOutputs maps GitLab's view of a runner to UserRunner outputs, as the
// official provider's modelToStateModel does. token is the runner token
// (GitLab returns it only at creation, so it comes from the create answer or
// the prior state; nil leaves it out, e.g. after an import). prior are the
// previous outputs or the inputs: groupId and projectId come from them
// (the official provider never reads them back from GitLab, so an import
// has none), a tag list equal to the prior one as a set keeps the prior
// order, and a property that was secret stays secret.
func runnerOutputs(d *gitlab.RunnerDetails, token *resource.PropertyValue, prior resource.PropertyMap) resource.PropertyMap {
	out := resource.PropertyMap{
		pRunnerType:  resource.NewStringProperty(d.RunnerType),
		pDescription: resource.NewStringProperty(d.Description),
		pUntagged:    resource.NewBoolProperty(d.RunUntagged),
		pLocked:      resource.NewBoolProperty(d.Locked),
		pPaused:      resource.NewBoolProperty(d.Paused),
		pAccessLevel: resource.NewStringProperty(d.AccessLevel),
		// Like the official provider, an unset timeout or note reads as 0 or "".
		pMaximumTimeout:  resource.NewNumberProperty(float64(d.MaximumTimeout)),
		pMaintenanceNote: resource.NewStringProperty(d.MaintenanceNote),
	}
	for _, k := range []resource.PropertyKey{pGroupID, pProjectID} {
		if v, ok := prior[k]; ok && !isUnknown(v) {
			out[k] = v
		}
	}

	tags := d.TagList
	if tags == nil {
		tags = []string{}
	}
	if pv, ok := prior[pTagLists]; ok && !isUnknown(pv) {
		if priorTags, err := asStringList(pv); err == nil && sameStringSet(priorTags, tags) {
			tags = priorTags
		}
	}
	out[pTagLists] = stringList(tags)

	for k, v := range out {
		if pv, ok := prior[k]; ok && pv.ContainsSecrets() && !v.IsSecret() {
			out[k] = resource.MakeSecret(v)
		}
	}
	if token != nil {
		out[pToken] = resource.MakeSecret(plain(*token))
	}
	return out
}

func stringList(list []string) resource.PropertyValue {
	arr := make([]resource.PropertyValue, len(list))
	for i, s := range list {
		arr[i] = resource.NewStringProperty(s)
	}
	return resource.NewArrayProperty(arr)
}

// previewOutputs are the outputs shown before GitLab is called: the inputs
// over base (the prior outputs, for an update), and unknown for every output
// GitLab will choose. token is unknown for a new runner.
func previewOutputs(inputs, base resource.PropertyMap) resource.PropertyMap {
	out := resource.PropertyMap{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range inputs {
		if isInputKey(string(k)) {
			out[k] = v
		}
	}
	unknown := resource.MakeComputed(resource.NewStringProperty(""))
	for _, k := range []string{pDescription, pTagLists, pUntagged, pLocked, pPaused, pAccessLevel, pMaximumTimeout, pMaintenanceNote} {
		if _, ok := out[resource.PropertyKey(k)]; !ok {
			out[resource.PropertyKey(k)] = unknown
		}
	}
	if _, ok := out[pToken]; !ok {
		out[pToken] = resource.MakeSecret(unknown)
	}
	return out
}

// partialOutputs are the outputs of a runner created but not read back: the
// known inputs and the token, and nothing GitLab would have chosen (it is
// not known, and the engine refuses unknown values after a create).
func partialOutputs(inputs resource.PropertyMap, token resource.PropertyValue) resource.PropertyMap {
	out := resource.PropertyMap{}
	for k, v := range inputs {
		if isInputKey(string(k)) && !isUnknown(v) {
			out[k] = v
		}
	}
	out[pToken] = resource.MakeSecret(token)
	return out
}

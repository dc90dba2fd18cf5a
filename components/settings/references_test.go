package settings_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// Each capability says which stack settings and existing objects its
// settings name; a fleet lists them all, at their settings' paths.
func TestConfigValuesAndReferences(t *testing.T) {
	s := settings.FleetSettings{
		Name: "b", TokenConfigKey: "tok",
		Cache:    settings.CacheSettings{Type: "gcs", GCS: &settings.GCSCacheSettings{BucketName: "c", AccessIDConfigKey: "gcsID", PrivateKeyConfigKey: "gcsKey"}},
		GitlabCA: &settings.CASettings{ConfigKey: "ca"},
		Manager:  settings.ManagerSettings{RegistryCredentialsConfigKey: "mreg", ImagePullSecrets: []string{"m-pull"}},
		Executor: settings.ExecutorSettings{ImagePullSecrets: []string{"j-pull"}, Volumes: []settings.JobVolume{{PVC: "cache", MountPath: "/c"}, {Name: "e", MountPath: "/e", EmptyDir: &settings.EmptyDirSource{}}}},
	}.WithDefaults("t")
	var values []string
	for _, v := range s.ConfigValues("fleets[0]") {
		values = append(values, v.Path+"="+v.Key)
		assert.Equal(t, v.Key != "ca", v.Secret, "%s: secret unless a CA bundle", v.Path)
		assert.Equal(t, v.Key == "tok" || v.Key == "ca" || v.Key == "mreg", v.Check != nil, "%s: checked when its value has a form", v.Path)
	}
	assert.Equal(t, []string{"fleets[0].tokenConfigKey=tok", "fleets[0].cache.gcs.accessIDConfigKey=gcsID", "fleets[0].cache.gcs.privateKeyConfigKey=gcsKey",
		"fleets[0].gitlabCA.configKey=ca", "fleets[0].manager.registryCredentialsConfigKey=mreg"}, values)

	s.TokenConfigKey, s.TokenSecret = "", &settings.SecretKeyRef{Name: "vault-token"}
	s.Cache.ExistingSecret, s.GitlabCA = "cache-keys", &settings.CASettings{Secret: &settings.SecretKeyRef{Name: "ca", Key: "ca.pem"}}
	s = s.WithDefaults("t")
	var refs []string
	for _, r := range s.References("fleets[0]") {
		refs = append(refs, r.Path+" "+r.String())
	}
	assert.Equal(t, []string{
		"fleets[0].tokenSecret Secret gitlab-runner-b/vault-token (key runner-token)",
		"fleets[0].cache.existingSecret Secret gitlab-runner-b/cache-keys",
		"fleets[0].gitlabCA.secret Secret gitlab-runner-b/ca (key ca.pem)",
		"fleets[0].manager.imagePullSecrets[0] Secret gitlab-runner-b/m-pull",
		"fleets[0].executor.imagePullSecrets[0] Secret gitlab-runner-b-jobs/j-pull",
		"fleets[0].executor.volumes[0].pvc PersistentVolumeClaim gitlab-runner-b-jobs/cache",
	}, refs)
}

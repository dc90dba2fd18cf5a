package settings

import (
	"encoding/json"
	"fmt"
)

// helperImageFlavors are the runner's helper image flavors.
//
// Private registries: image pull Secrets for the manager pod (manager.imagePullSecrets, in the
// managers' namespace) and for job pods (executor.imagePullSecrets, in the job
// namespace: image_pull_secrets, which the runner checks exist before it
// creates a job pod). Either setting's registryCredentialsConfigKey names a
// secret stack setting holding a Docker config JSON ({"auths": {...}}): the
// fleet creates a kubernetes.io/dockerconfigjson Secret from it and adds it
// to the list. executor.helperImage (pinned, from a mirror) or
// executor.helperImageFlavor (alpine, ubuntu, ubi-fips...) replace the
// runner's default helper image for mirrored registries.
var helperImageFlavors = enumOf[ExecutorSettings]("HelperImageFlavor")

func validatePullSecrets(ps *Problems, path string, names []string, configKey string) {
	seen := map[string]bool{}
	for i, n := range names {
		checkDNS1123Subdomain(ps, fmt.Sprintf("%s.imagePullSecrets[%d]", path, i), n)
		if seen[n] {
			ps.Add(fmt.Sprintf("%s.imagePullSecrets[%d]", path, i), "duplicate Secret %q", n)
		}
		seen[n] = true
	}
	if configKey != "" && !ValidTokenConfigKey(configKey) {
		ps.Add(path+".registryCredentialsConfigKey", "must name a secret stack setting (letters, digits, '-' or '_')")
	}
}

// CheckDockerConfig reports what is wrong with a Docker config JSON.
func CheckDockerConfig(text string) error {
	var cfg struct {
		Auths map[string]json.RawMessage `json:"auths"`
	}
	if err := json.Unmarshal([]byte(text), &cfg); err != nil {
		return fmt.Errorf("is not a Docker config JSON ({\"auths\": {...}})") // the error could quote the secret
	}
	if len(cfg.Auths) == 0 {
		return fmt.Errorf("has no registry under \"auths\"")
	}
	return nil
}

// registryConfigValues are the Docker configs the registry settings of the
// manager or executor at path name.
func registryConfigValues(path, configKey string) []ConfigValue {
	if configKey == "" {
		return nil
	}
	return []ConfigValue{{Path: path + ".registryCredentialsConfigKey", Key: configKey, Secret: true, Check: CheckDockerConfig}}
}

// pullSecretReferences are the pull Secrets the manager or executor at path
// names, in namespace.
func pullSecretReferences(path, namespace string, names []string) []Reference {
	var out []Reference
	for i, name := range names {
		out = append(out, Reference{Path: fmt.Sprintf("%s.imagePullSecrets[%d]", path, i), Kind: "Secret", Namespace: namespace, Name: name})
	}
	return out
}

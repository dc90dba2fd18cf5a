package components

import (
	"encoding/json"
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Private registries.
//
// Image pull Secrets for the manager pod (manager.imagePullSecrets, in the
// managers' namespace) and for job pods (executor.imagePullSecrets, in the job
// namespace: image_pull_secrets, which the runner checks exist before it
// creates a job pod). Either setting's registryCredentialsConfigKey names a
// secret stack setting holding a Docker config JSON ({"auths": {...}}): the
// fleet creates a kubernetes.io/dockerconfigjson Secret from it and adds it
// to the list. executor.helperImage (pinned, from a mirror) or
// executor.helperImageFlavor (alpine, ubuntu, ubi-fips...) replace the
// runner's default helper image for mirrored registries.

var helperImageFlavors = []string{"alpine", "alpine3.19", "alpine3.21", "alpine-latest", "ubuntu", "ubi-fips"}

func validatePullSecrets(ps *Problems, path string, names []string, configKey string) {
	seen := map[string]bool{}
	for i, n := range names {
		checkDNS1123Subdomain(ps, fmt.Sprintf("%s.imagePullSecrets[%d]", path, i), n)
		if seen[n] {
			ps.add(fmt.Sprintf("%s.imagePullSecrets[%d]", path, i), "duplicate Secret %q", n)
		}
		seen[n] = true
	}
	if configKey != "" && !ValidTokenConfigKey(configKey) {
		ps.add(path+".registryCredentialsConfigKey", "must name a secret stack setting (letters, digits, '-' or '_')")
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

// registrySecretName is the pull Secret the fleet makes, in the managers'
// namespace for the manager pod and in the job namespace for job pods. Its
// name is fixed so that config.toml can name it.
func registrySecretName(s FleetSettings) string { return s.Name + "-registry" }

// registrySecretArgs is a pull Secret made from a stack setting.
func registrySecretArgs(s FleetSettings, namespace pulumi.StringInput, dockerConfig pulumi.StringOutput) *corev1.SecretArgs {
	return &corev1.SecretArgs{
		Metadata:   objectMeta(s, registrySecretName(s), namespace),
		Type:       pulumi.String("kubernetes.io/dockerconfigjson"),
		StringData: pulumi.StringMap{".dockerconfigjson": pulumi.ToSecret(dockerConfig).(pulumi.StringOutput)},
	}
}

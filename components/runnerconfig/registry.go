package runnerconfig

import "github.com/glrf/gitlab-runner-fleet/components/settings"

// RegistrySecretName is the pull Secret the fleet makes from a
// registryCredentialsConfigKey, in the managers' namespace for the manager
// pod and in the job namespace for job pods. Its name is fixed so that
// config.toml can name it.
func RegistrySecretName(s settings.FleetSettings) string { return s.Name + "-registry" }

func init() {
	addPart("registry", func(r *RunnerConfig, s settings.FleetSettings) {
		e, k := s.Executor, &r.Kubernetes
		// Pull Secrets: the ones named, and the one the fleet makes.
		if len(e.ImagePullSecrets) > 0 || e.RegistryCredentialsConfigKey != "" {
			k.ImagePullSecrets = append([]string{}, e.ImagePullSecrets...)
			if e.RegistryCredentialsConfigKey != "" {
				k.ImagePullSecrets = append(k.ImagePullSecrets, RegistrySecretName(s))
			}
		}
		k.HelperImage, k.HelperImageFlavor = e.HelperImage, e.HelperImageFlavor
	})
}

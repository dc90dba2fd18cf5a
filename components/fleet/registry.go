package fleet

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/glrf/gitlab-runner-fleet/components/runnerconfig"
)

// registries give the manager pod its image pull Secrets
// (manager.imagePullSecrets), and make a kubernetes.io/dockerconfigjson
// Secret from each registryCredentialsConfigKey: in the managers' namespace
// for the manager pod, in the job namespace for job pods (config.toml names
// it, see runnerconfig.RegistrySecretName).
func registries(b *build) (podPart, error) {
	s := b.s
	part := podPart{PullSecrets: s.Manager.ImagePullSecrets}
	for _, r := range []struct {
		key, suffix string
		namespace   pulumi.StringInput
		manager     bool
	}{
		{s.Manager.RegistryCredentialsConfigKey, "-registry", b.namespace, true},
		{s.Executor.RegistryCredentialsConfigKey, "-jobs-registry", b.jobNamespace, false},
	} {
		if r.key == "" {
			continue
		}
		dockerConfig, err := b.configValue(r.key)
		if err != nil {
			return part, err
		}
		if _, err := corev1.NewSecret(b.ctx, s.Name+r.suffix, &corev1.SecretArgs{
			Metadata:   objectMeta(s, runnerconfig.RegistrySecretName(s), r.namespace),
			Type:       pulumi.String("kubernetes.io/dockerconfigjson"),
			StringData: pulumi.StringMap{".dockerconfigjson": pulumi.ToSecret(dockerConfig).(pulumi.StringOutput)},
		}, b.parent); err != nil {
			return part, err
		}
		if r.manager {
			part.PullSecrets = append(append([]string{}, part.PullSecrets...), runnerconfig.RegistrySecretName(s))
		}
	}
	return part, nil
}

func init() { addCapability("registry", registries) }

package fleet

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/glrf/gitlab-runner-fleet/components/runnerconfig"
)

// gitlabCA mounts GitLab's CA bundle (settings.CASettings) read-only at
// runnerconfig.CAFile in the manager container, from a Secret the fleet
// creates from a stack setting or from an existing Secret. The runner reads
// it as tls-ca-file; `gitlab-runner register`, which verifies the token over
// TLS, also through CI_SERVER_TLS_CA_FILE.
func gitlabCA(b *build) (podPart, error) {
	ca := b.s.GitlabCA
	if ca == nil {
		return podPart{}, nil
	}
	var secret pulumi.StringInput
	if ca.Secret != nil {
		secret = pulumi.String(ca.Secret.Name)
	} else {
		bundle, err := b.configValue(ca.ConfigKey)
		if err != nil {
			return podPart{}, err
		}
		created, err := corev1.NewSecret(b.ctx, b.s.Name+"-gitlab-ca", &corev1.SecretArgs{
			Metadata: autoNamedMeta(b.s, b.namespace), Type: pulumi.String("Opaque"),
			StringData: pulumi.StringMap{ca.SecretKey(): bundle},
		}, b.parent)
		if err != nil {
			return podPart{}, err
		}
		secret = created.Metadata.Name().Elem()
	}
	return podPart{
		Env: map[string]*corev1.EnvVarArgs{
			"CI_SERVER_TLS_CA_FILE": {Name: pulumi.String("CI_SERVER_TLS_CA_FILE"), Value: pulumi.String(runnerconfig.CAFile)},
		},
		Volumes: map[string]mountedVolume{"gitlab-ca": {
			Volume: &corev1.VolumeArgs{Name: pulumi.String("gitlab-ca"), Secret: &corev1.SecretVolumeSourceArgs{
				SecretName: secret, DefaultMode: pulumi.Int(0o444),
				Items: corev1.KeyToPathArray{&corev1.KeyToPathArgs{Key: pulumi.String(ca.SecretKey()), Path: pulumi.String(runnerconfig.CAFileName)}},
			}},
			Mount: volumeMount("gitlab-ca", runnerconfig.CADir, true),
		}},
	}, nil
}

func init() { addCapability("ca", gitlabCA) }

package fleet

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// preEntrypointDir holds the pre-entrypoint script in the manager container
// (settings.ManagerPaths keeps volumes of the settings away from it).
const (
	preEntrypointDir  = "/pre-entrypoint"
	preEntrypointFile = "pre-entrypoint.sh"
)

// preEntrypoint ships manager.pod.preEntrypointScript in a ConfigMap of its
// own, mounted read-only, and names it in PRE_ENTRYPOINT_SCRIPT: the
// entrypoint runs it before it verifies the token, and stops when it fails.
// The ConfigMap is auto-named, so a changed script is a new ConfigMap and
// rolls the managers.
func preEntrypoint(b *build) (podPart, error) {
	script := b.s.Manager.Pod.PreEntrypointScript
	if script == "" {
		return podPart{}, nil
	}
	config, err := corev1.NewConfigMap(b.ctx, b.s.Name+"-pre-entrypoint", &corev1.ConfigMapArgs{
		Metadata: autoNamedMeta(b.s, b.namespace),
		Data:     pulumi.StringMap{preEntrypointFile: pulumi.String(script)},
	}, b.parent)
	if err != nil {
		return podPart{}, err
	}
	return podPart{
		Env: map[string]*corev1.EnvVarArgs{"PRE_ENTRYPOINT_SCRIPT": {
			Name: pulumi.String("PRE_ENTRYPOINT_SCRIPT"), Value: pulumi.String(preEntrypointDir + "/" + preEntrypointFile),
		}},
		Volumes: map[string]mountedVolume{"pre-entrypoint": {
			Volume: &corev1.VolumeArgs{Name: pulumi.String("pre-entrypoint"), ConfigMap: &corev1.ConfigMapVolumeSourceArgs{
				Name: config.Metadata.Name().Elem(), DefaultMode: pulumi.Int(0o444),
			}},
			Mount: volumeMount("pre-entrypoint", preEntrypointDir, true),
		}},
	}, nil
}

func init() { addCapability("preentrypoint", preEntrypoint) }

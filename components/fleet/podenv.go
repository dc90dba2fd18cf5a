package fleet

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// podEnv sets the manager container's variables of manager.pod.env (a
// proxy, say): a value, or a key of an existing Secret. The settings refuse
// names the fleet sets and those gitlab-runner reads as configuration.
func podEnv(b *build) (podPart, error) {
	env := map[string]*corev1.EnvVarArgs{}
	for _, e := range b.s.Manager.Pod.Env {
		v := &corev1.EnvVarArgs{Name: pulumi.String(e.Name)}
		if e.Secret != nil {
			v.ValueFrom = &corev1.EnvVarSourceArgs{SecretKeyRef: &corev1.SecretKeySelectorArgs{
				Name: pulumi.String(e.Secret.Name), Key: pulumi.String(e.Secret.Key),
			}}
		} else {
			v.Value = pulumi.String(e.Value)
		}
		env[e.Name] = v
	}
	return podPart{Env: env}, nil
}

func init() { addCapability("podenv", podEnv) }

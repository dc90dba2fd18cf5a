package fleet

import (
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// cacheCredentials give the manager the distributed cache's credentials
// (settings.CacheSettings): the manager signs the cache URLs job pods'
// helpers use, so the credentials belong to the manager, never to job pods.
// They never enter a ConfigMap: they reach the manager container as
// environment variables from a Secret, which `gitlab-runner register` merges
// with the [[runners]] template into config.toml on the in-memory config
// volume. The Secret is created from secret stack settings, or an existing
// one; with a workload identity there is none.
func cacheCredentials(b *build) (podPart, error) {
	c := b.s.Cache
	var secret pulumi.StringInput
	switch {
	case c.ExistingSecret != "":
		secret = pulumi.String(c.ExistingSecret)
	case c.CreatesSecret():
		data := pulumi.StringMap{}
		for _, cred := range c.Credentials() {
			v, err := b.configValue(cred.ConfigKey)
			if err != nil {
				return podPart{}, err
			}
			data[cred.Key] = pulumi.ToSecret(v).(pulumi.StringOutput)
		}
		created, err := corev1.NewSecret(b.ctx, b.s.Name+"-cache", &corev1.SecretArgs{
			Metadata: autoNamedMeta(b.s, b.namespace), Type: pulumi.String("Opaque"), StringData: data,
		}, b.parent)
		if err != nil {
			return podPart{}, err
		}
		secret = created.Metadata.Name().Elem()
	default:
		return podPart{}, nil
	}
	env := map[string]*corev1.EnvVarArgs{}
	for _, cred := range c.Credentials() {
		env[cred.Env] = secretEnv(cred.Env, secret, cred.Key)
	}
	return podPart{Env: env}, nil
}

func init() { addCapability("cache", cacheCredentials) }

// secretEnv is a variable taken from a key of a Secret.
func secretEnv(name string, secret pulumi.StringInput, key string) *corev1.EnvVarArgs {
	return &corev1.EnvVarArgs{Name: pulumi.String(name), ValueFrom: &corev1.EnvVarSourceArgs{
		SecretKeyRef: &corev1.SecretKeySelectorArgs{Name: secret, Key: pulumi.String(key)},
	}}
}

package components

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The Secrets and ServiceAccounts the pods refer to: the ones the fleet makes
// (the token's, the cache credentials', the CA bundle's, the registries')
// and the existing ones settings name.

// podInputs are what the manager pod mounts or reads, by name.
type podInputs struct {
	TokenSecret pulumi.StringInput
	TokenKey    string
	// CacheSecret holds the cache credentials; nil without.
	CacheSecret pulumi.StringInput
	// CASecret holds GitLab's CA bundle under CAKey; nil without.
	CASecret    pulumi.StringInput
	CAKey       string
	PullSecrets []string
}

// newPodInputs makes the fleet's own Secrets, and the job ServiceAccount when
// it carries annotations.
func newPodInputs(ctx *pulumi.Context, args *RunnerFleetArgs, token pulumi.StringOutput, namespace, jobNamespace pulumi.StringInput,
	parent pulumi.ResourceOption) (podInputs, error) {
	s := args.Settings
	value := func(key string) (pulumi.StringOutput, error) {
		v, ok := args.ConfigValues[key]
		if !ok {
			return pulumi.StringOutput{}, fmt.Errorf("fleet %q: no value was given for stack setting %q", s.Name, key)
		}
		return v, nil
	}
	in := podInputs{TokenKey: tokenKey, PullSecrets: s.Manager.ImagePullSecrets}

	if t := s.TokenSecret; t != nil {
		in.TokenSecret, in.TokenKey = pulumi.String(t.Name), t.Key
	} else {
		secret, err := corev1.NewSecret(ctx, s.Name+"-token", &corev1.SecretArgs{
			Metadata:   autoNamedMeta(s, namespace),
			Type:       pulumi.String("Opaque"),
			StringData: pulumi.StringMap{tokenKey: token},
		}, parent)
		if err != nil {
			return in, err
		}
		in.TokenSecret = secret.Metadata.Name().Elem()
	}

	switch c := s.Cache; {
	case c.ExistingSecret != "":
		in.CacheSecret = pulumi.String(c.ExistingSecret)
	case c.createsSecret():
		values := map[string]pulumi.StringOutput{}
		for _, cred := range c.credentials() {
			v, err := value(cred.configKey)
			if err != nil {
				return in, err
			}
			values[cred.configKey] = v
		}
		secretArgs, err := cacheSecretArgs(s, namespace, values)
		if err != nil {
			return in, err
		}
		secret, err := corev1.NewSecret(ctx, s.Name+"-cache", secretArgs, parent)
		if err != nil {
			return in, err
		}
		in.CacheSecret = secret.Metadata.Name().Elem()
	}

	if ca := s.GitlabCA; ca != nil {
		in.CAKey = ca.secretKey()
		if ca.Secret != nil {
			in.CASecret = pulumi.String(ca.Secret.Name)
		} else {
			bundle, err := value(ca.ConfigKey)
			if err != nil {
				return in, err
			}
			secret, err := corev1.NewSecret(ctx, s.Name+"-gitlab-ca", caSecretArgs(s, namespace, bundle), parent)
			if err != nil {
				return in, err
			}
			in.CASecret = secret.Metadata.Name().Elem()
		}
	}

	for _, r := range []struct {
		key, suffix string
		namespace   pulumi.StringInput
		manager     bool
	}{
		{s.Manager.RegistryCredentialsConfigKey, "-registry", namespace, true},
		{s.Executor.RegistryCredentialsConfigKey, "-jobs-registry", jobNamespace, false},
	} {
		if r.key == "" {
			continue
		}
		dockerConfig, err := value(r.key)
		if err != nil {
			return in, err
		}
		if _, err := corev1.NewSecret(ctx, s.Name+r.suffix, registrySecretArgs(s, r.namespace, dockerConfig), parent); err != nil {
			return in, err
		}
		if r.manager {
			in.PullSecrets = append(append([]string{}, in.PullSecrets...), registrySecretName(s))
		}
	}

	if e := s.Executor; len(e.ServiceAccountAnnotations) > 0 {
		meta := objectMeta(s, e.ServiceAccount, jobNamespace)
		meta.Annotations = pulumi.ToStringMap(e.ServiceAccountAnnotations)
		// A job ServiceAccount chosen on purpose: its token is mounted.
		if _, err := corev1.NewServiceAccount(ctx, s.Name+"-jobs", &corev1.ServiceAccountArgs{
			Metadata: meta, AutomountServiceAccountToken: pulumi.Bool(true),
		}, parent); err != nil {
			return in, err
		}
	}
	return in, nil
}

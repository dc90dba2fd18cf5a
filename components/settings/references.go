package settings

import (
	"fmt"
	"regexp"
	"strings"
)

// SecretKeyRef names a key of a Kubernetes Secret.
type SecretKeyRef struct {
	Name string `json:"name"`
	Key  string `json:"key,omitempty"`
}

func (r SecretKeyRef) validate(ps *Problems, path string) {
	if r.Name == "" {
		ps.Add(path+".name", "is required: the name of an existing Secret")
	} else {
		checkDNS1123Subdomain(ps, path+".name", r.Name)
	}
	if r.Key != "" && !configMapKeyRe.MatchString(r.Key) {
		ps.Add(path+".key", "%q is not a Secret key (letters, digits, '-', '_', '.')", r.Key)
	}
}

// ConfigValue is a stack setting a fleet reads.
//
// What a fleet takes from outside the stack's own resources: some settings
// name a secret stack setting (the fleet creates a Secret from its value:
// cache keys, a CA bundle, registry credentials), others an object that must
// already exist in the cluster (a Reference: a Secret made by External
// Secrets or Vault, a PVC, a ConfigMap). The program resolves the first
// before anything is registered, and checks the second against the cluster,
// so a missing one is an error that names the setting instead of a pod that
// never starts.
type ConfigValue struct {
	// Path is the fleet setting that names it, e.g. fleets[0].cache.s3.accessKeyConfigKey.
	Path string
	// Key is the setting's name in the project's namespace.
	Key string
	// Secret: the setting must be stored encrypted.
	Secret bool
	// Check reports what is wrong with the value, if anything (never
	// quoting it).
	Check func(string) error
}

// Reference is an object the fleet expects to exist in the cluster.
type Reference struct {
	Path      string // the fleet setting that names it
	Kind      string // Secret, ConfigMap, PersistentVolumeClaim
	Namespace string
	Name      string
	// Key, when set, must be in the Secret's or ConfigMap's data.
	Key string
}

func (r Reference) String() string {
	s := fmt.Sprintf("%s %s/%s", r.Kind, r.Namespace, r.Name)
	if r.Key != "" {
		s += " (key " + r.Key + ")"
	}
	return s
}

// ConfigValues lists the stack settings a (defaulted) fleet reads.
func (s FleetSettings) ConfigValues(path string) []ConfigValue {
	var out []ConfigValue
	add := func(setting, key string, secret bool, check ...func(string) error) {
		if key != "" {
			v := ConfigValue{Path: path + "." + setting, Key: key, Secret: secret}
			if len(check) > 0 {
				v.Check = check[0]
			}
			out = append(out, v)
		}
	}
	add("tokenConfigKey", s.TokenConfigKey, true, checkRunnerToken)
	c := s.Cache
	if c.S3 != nil {
		add("cache.s3.accessKeyConfigKey", c.S3.AccessKeyConfigKey, true)
		add("cache.s3.secretKeyConfigKey", c.S3.SecretKeyConfigKey, true)
	}
	if c.GCS != nil {
		add("cache.gcs.accessIDConfigKey", c.GCS.AccessIDConfigKey, true)
		add("cache.gcs.privateKeyConfigKey", c.GCS.PrivateKeyConfigKey, true)
	}
	if c.Azure != nil {
		add("cache.azure.accountKeyConfigKey", c.Azure.AccountKeyConfigKey, true)
	}
	if s.GitlabCA != nil {
		add("gitlabCA.configKey", s.GitlabCA.ConfigKey, false, CheckCABundle)
	}
	add("manager.registryCredentialsConfigKey", s.Manager.RegistryCredentialsConfigKey, true, CheckDockerConfig)
	add("executor.registryCredentialsConfigKey", s.Executor.RegistryCredentialsConfigKey, true, CheckDockerConfig)
	return out
}

// References lists the objects a (defaulted) fleet expects to exist.
func (s FleetSettings) References(path string) []Reference {
	var out []Reference
	if r := s.TokenSecret; r != nil {
		out = append(out, Reference{Path: path + ".tokenSecret", Kind: "Secret", Namespace: s.Namespace, Name: r.Name, Key: r.Key})
	}
	if c := s.Cache.ExistingSecret; c != "" {
		out = append(out, Reference{Path: path + ".cache.existingSecret", Kind: "Secret", Namespace: s.Namespace, Name: c})
	}
	if ca := s.GitlabCA; ca != nil && ca.Secret != nil {
		out = append(out, Reference{Path: path + ".gitlabCA.secret", Kind: "Secret", Namespace: s.Namespace, Name: ca.Secret.Name, Key: ca.Secret.Key})
	}
	for i, name := range s.Manager.ImagePullSecrets {
		out = append(out, Reference{Path: fmt.Sprintf("%s.manager.imagePullSecrets[%d]", path, i), Kind: "Secret", Namespace: s.Namespace, Name: name})
	}
	for i, name := range s.Executor.ImagePullSecrets {
		out = append(out, Reference{Path: fmt.Sprintf("%s.executor.imagePullSecrets[%d]", path, i), Kind: "Secret", Namespace: s.JobNamespace, Name: name})
	}
	for i, v := range s.Executor.Volumes {
		at := fmt.Sprintf("%s.executor.volumes[%d]", path, i)
		switch {
		case v.ConfigMap != "":
			out = append(out, Reference{Path: at + ".configMap", Kind: "ConfigMap", Namespace: s.JobNamespace, Name: v.ConfigMap})
		case v.Secret != "":
			out = append(out, Reference{Path: at + ".secret", Kind: "Secret", Namespace: s.JobNamespace, Name: v.Secret})
		case v.PVC != "":
			out = append(out, Reference{Path: at + ".pvc", Kind: "PersistentVolumeClaim", Namespace: s.JobNamespace, Name: v.PVC})
		}
	}
	return out
}

// ReferenceProblem explains a missing reference: what to create, or which
// setting to change.
func ReferenceProblem(r Reference, err error) Problem {
	what := "does not exist"
	if err != nil && !strings.Contains(err.Error(), "not found") {
		what = "cannot be read: " + err.Error()
	}
	return Problem{Path: r.Path, Message: fmt.Sprintf("names %s, which %s; create it first (or fix the name)", r, what)}
}

// configMapKeyRe is a valid key of a Secret's or ConfigMap's data.
var configMapKeyRe = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

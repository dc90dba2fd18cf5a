package settings

import (
	"fmt"
	"regexp"
	"strings"
)

// SecretKeyRef names a key of a Kubernetes Secret.
type SecretKeyRef struct {
	// Name is the Secret's name.
	Name string `json:"name"`
	// Key is the key within the Secret (each setting says its default).
	Key string `json:"key,omitempty"`
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

// ConfigValues lists the stack settings a (defaulted) fleet reads; each
// capability's file says which of its settings name one.
func (s FleetSettings) ConfigValues(path string) []ConfigValue {
	at := func(field string) string { return path + "." + field }
	var out []ConfigValue
	if s.TokenConfigKey != "" {
		out = append(out, ConfigValue{Path: at("tokenConfigKey"), Key: s.TokenConfigKey, Secret: true, Check: checkRunnerToken})
	}
	out = append(out, s.Cache.configValues(at("cache"))...)
	out = append(out, s.GitlabCA.configValues(at("gitlabCA"))...)
	out = append(out, registryConfigValues(at("manager"), s.Manager.RegistryCredentialsConfigKey)...)
	out = append(out, registryConfigValues(at("executor"), s.Executor.RegistryCredentialsConfigKey)...)
	return out
}

// References lists the objects a (defaulted) fleet expects to exist; each
// capability's file says which of its settings name one.
func (s FleetSettings) References(path string) []Reference {
	at := func(field string) string { return path + "." + field }
	var out []Reference
	if r := s.TokenSecret; r != nil {
		out = append(out, Reference{Path: at("tokenSecret"), Kind: "Secret", Namespace: s.Namespace, Name: r.Name, Key: r.Key})
	}
	out = append(out, s.Cache.references(at("cache"), s.Namespace)...)
	out = append(out, s.GitlabCA.references(at("gitlabCA"), s.Namespace)...)
	out = append(out, pullSecretReferences(at("manager"), s.Namespace, s.Manager.ImagePullSecrets)...)
	out = append(out, pullSecretReferences(at("executor"), s.JobNamespace, s.Executor.ImagePullSecrets)...)
	out = append(out, volumeReferences(at("executor.volumes"), s.JobNamespace, s.Executor.Volumes)...)
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

package settings

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// CASettings name GitLab's CA bundle, when GitLab's certificate comes from a
// private certificate authority.
//
// The runner reads GitLab's CA bundle from tls-ca-file ([[runners]], a file
// path). The fleet mounts the bundle read-only at caDir/ca.crt in the manager
// container, from a Secret it creates from a stack setting (gitlabCA.configKey,
// the PEM text, secret or not) or from an existing Secret (gitlabCA.secret).
// The path reaches `gitlab-runner register`, which verifies the token over
// TLS, through the template (merged before it verifies) and through
// CI_SERVER_TLS_CA_FILE; and the runner hands the bundle to every job as the
// CI_SERVER_TLS_CA_FILE file variable, which the helper uses to clone, fetch
// artifacts and the cache.
type CASettings struct {
	// ConfigKey names a stack setting holding the PEM bundle.
	ConfigKey string `json:"configKey,omitempty"`
	// Secret is an existing Secret in the managers' namespace (key default ca.crt).
	Secret *SecretKeyRef `json:"secret,omitempty"`
}

// DefaultCAKey is the key of the bundle in its Secret.
const DefaultCAKey = "ca.crt"

func (c *CASettings) validate(ps *Problems, path string) {
	if c == nil {
		return
	}
	switch {
	case (c.ConfigKey == "") == (c.Secret == nil):
		ps.Add(path, "needs exactly one of configKey (a stack setting holding the PEM bundle) and secret (an existing Secret)")
	case c.ConfigKey != "" && !ValidTokenConfigKey(c.ConfigKey):
		ps.Add(path+".configKey", "must name a stack setting (letters, digits, '-' or '_')")
	case c.Secret != nil:
		c.Secret.validate(ps, path+".secret")
	}
}

// configValues are the stack settings the CA settings name.
func (c *CASettings) configValues(path string) []ConfigValue {
	if c == nil || c.ConfigKey == "" {
		return nil
	}
	return []ConfigValue{{Path: path + ".configKey", Key: c.ConfigKey, Check: CheckCABundle}}
}

// references are the existing objects the CA settings name.
func (c *CASettings) references(path, namespace string) []Reference {
	if c == nil || c.Secret == nil {
		return nil
	}
	return []Reference{{Path: path + ".secret", Kind: "Secret", Namespace: namespace, Name: c.Secret.Name, Key: c.Secret.Key}}
}

// SecretKey is the key of the bundle in its Secret.
func (c *CASettings) SecretKey() string {
	if c.Secret != nil && c.Secret.Key != "" {
		return c.Secret.Key
	}
	return DefaultCAKey
}

// CheckCABundle reports what is wrong with a PEM CA bundle, if anything.
func CheckCABundle(bundle string) error {
	rest := []byte(bundle)
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return fmt.Errorf("holds a %s block; a CA bundle holds certificates only", block.Type)
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return fmt.Errorf("certificate %d cannot be read: %v", n+1, err)
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
	}
	return nil
}

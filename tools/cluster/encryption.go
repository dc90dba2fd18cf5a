package cluster

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// Encryption at rest: the API server encrypts Secrets before it writes them
// to etcd (an EncryptionConfiguration with the secretbox provider, XSalsa20
// and Poly1305 under a 32-byte key), so the runner tokens the fleets keep in
// Secrets are not plain in etcd's files or in a copy of them. This is the
// shape a production cluster should have (there often with a KMS provider,
// which keeps the key outside the control plane's disk); the lab shows it
// with a local key.
//
// The key is generated once into the cluster's state folder, readable by
// its owner only (0600 in the 0700 pki folder), and kept across restarts:
// the Secrets in etcd stay readable as long as the folder lives. identity
// comes second, so a cluster folder from before this reads its older,
// plain Secrets (and rewrites them encrypted when they next change).

// EncryptionConfigFile is where the cluster's EncryptionConfiguration lives.
func (c *Config) EncryptionConfigFile() string {
	return filepath.Join(c.pki().Dir, "encryption-config.yaml")
}

// encryptionKeyName names the key in the configuration: stored values start
// with k8s:enc:secretbox:v1:<name>:.
const encryptionKeyName = "glrf-local-1"

type encryptionConfiguration struct {
	APIVersion string               `json:"apiVersion"`
	Kind       string               `json:"kind"`
	Resources  []encryptedResources `json:"resources"`
}

type encryptedResources struct {
	Resources []string         `json:"resources"`
	Providers []map[string]any `json:"providers"`
}

type secretboxKey struct {
	Name   string `json:"name"`
	Secret string `json:"secret"`
}

// ensureEncryptionConfig writes the EncryptionConfiguration with a new key
// unless one is there, and makes sure only the owner can read it.
func (c *Config) ensureEncryptionConfig() (made bool, err error) {
	path := c.EncryptionConfigFile()
	if _, err := os.Stat(path); err == nil {
		if _, err := readEncryptionKey(path); err != nil {
			return false, fmt.Errorf("%s: %w (delete the cluster folder with `cluster stop --purge` to start afresh)", path, err)
		}
		return false, os.Chmod(path, 0o600)
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return false, err
	}
	config := encryptionConfiguration{
		APIVersion: "apiserver.config.k8s.io/v1",
		Kind:       "EncryptionConfiguration",
		Resources: []encryptedResources{{
			Resources: []string{"secrets"},
			Providers: []map[string]any{
				{"secretbox": map[string]any{"keys": []secretboxKey{{Name: encryptionKeyName, Secret: base64.StdEncoding.EncodeToString(key)}}}},
				{"identity": map[string]any{}},
			},
		}},
	}
	data, err := yaml.Marshal(config)
	if err != nil {
		return false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return false, err
	}
	return true, writeFile(path, data, 0o600)
}

// readEncryptionKey reads the secretbox key of a configuration written by
// ensureEncryptionConfig, and checks its size.
func readEncryptionKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var config struct {
		Kind      string `json:"kind"`
		Resources []struct {
			Resources []string `json:"resources"`
			Providers []struct {
				Secretbox *struct {
					Keys []secretboxKey `json:"keys"`
				} `json:"secretbox"`
			} `json:"providers"`
		} `json:"resources"`
	}
	if err := yaml.Unmarshal(data, &config); err != nil || config.Kind != "EncryptionConfiguration" {
		return nil, fmt.Errorf("not an EncryptionConfiguration (%v)", err)
	}
	if len(config.Resources) == 0 || len(config.Resources[0].Providers) == 0 || config.Resources[0].Providers[0].Secretbox == nil ||
		len(config.Resources[0].Providers[0].Secretbox.Keys) == 0 {
		return nil, errors.New("no secretbox key for Secrets")
	}
	key, err := base64.StdEncoding.DecodeString(config.Resources[0].Providers[0].Secretbox.Keys[0].Secret)
	if err != nil || len(key) != 32 {
		return nil, errors.New("the secretbox key is not 32 bytes in base64")
	}
	return key, nil
}

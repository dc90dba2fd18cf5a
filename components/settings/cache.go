package settings

import (
	"cmp"
	"strings"
)

// CacheSettings configure the distributed cache ([runners.cache]): S3 (and
// S3-compatible servers such as MinIO), Google Cloud Storage or Azure Blob
// Storage.
//
// The runner manager signs the cache URLs that job pods' helpers download
// and upload through, so the credentials belong to the manager, never to
// job pods. They never enter a ConfigMap: they reach the manager container as
// environment variables from a Secret (CACHE_S3_ACCESS_KEY, CACHE_S3_SECRET_KEY,
// CACHE_GCS_ACCESS_ID, CACHE_GCS_PRIVATE_KEY, CACHE_AZURE_ACCOUNT_NAME,
// CACHE_AZURE_ACCOUNT_KEY), which `gitlab-runner register` merges with the
// [[runners]] template into config.toml, on the in-memory config volume
// (commands/register.go: flags and their environment variables win, the
// template fills in the rest). The Secret is either created by the fleet from
// secret stack settings (…ConfigKey), or an existing one
// (cache.existingSecret, with the official Helm chart's keys: accesskey and
// secretkey for S3, gcs-access-id and gcs-private-key for GCS,
// azure-account-name and azure-account-key for Azure), or none: workload
// identity (S3 with authenticationType iam, GCS or Azure with the manager's
// cloud identity), set up through manager.serviceAccountAnnotations.
type CacheSettings struct {
	// Type is s3, gcs or azure; empty: no distributed cache.
	Type string `json:"type,omitempty" enum:"s3,gcs,azure"`
	// Path is prepended to cache object names.
	Path string `json:"path,omitempty"`
	// Shared lets all runners share the cache (by default per runner).
	Shared bool `json:"shared,omitempty"`
	// ExistingSecret holds the credentials (keys as in the Helm chart).
	ExistingSecret string `json:"existingSecret,omitempty"`

	// S3, GCS and Azure are the settings of the cache's type (one of them,
	// the one type names).
	S3    *S3CacheSettings    `json:"s3,omitempty"`
	GCS   *GCSCacheSettings   `json:"gcs,omitempty"`
	Azure *AzureCacheSettings `json:"azure,omitempty"`
}

// S3CacheSettings configure an S3 or S3-compatible cache.
type S3CacheSettings struct {
	// ServerAddress is host[:port] of the S3 endpoint (s3.amazonaws.com, or a MinIO server).
	ServerAddress string `json:"serverAddress,omitempty"`
	// BucketName is the bucket holding the cache.
	BucketName string `json:"bucketName"`
	// BucketLocation is the region.
	BucketLocation string `json:"bucketLocation,omitempty"`
	// Insecure talks plain http to the server (a MinIO in the cluster, say).
	Insecure bool `json:"insecure,omitempty"`
	// PathStyle addresses the bucket in the path (MinIO).
	PathStyle *bool `json:"pathStyle,omitempty"`
	// AuthenticationType: access-key (default with keys) or iam (workload identity).
	AuthenticationType string `json:"authenticationType,omitempty" enum:"access-key,iam"`
	// ServerSideEncryption: S3 or KMS, with ServerSideEncryptionKeyID for KMS.
	ServerSideEncryption      string `json:"serverSideEncryption,omitempty" enum:"S3,KMS"`
	ServerSideEncryptionKeyID string `json:"serverSideEncryptionKeyId,omitempty"`
	// AccessKeyConfigKey and SecretKeyConfigKey name secret stack settings.
	AccessKeyConfigKey string `json:"accessKeyConfigKey,omitempty"`
	SecretKeyConfigKey string `json:"secretKeyConfigKey,omitempty"`
}

// GCSCacheSettings configure a Google Cloud Storage cache.
type GCSCacheSettings struct {
	// BucketName is the bucket holding the cache.
	BucketName string `json:"bucketName"`
	// AccessIDConfigKey and PrivateKeyConfigKey name secret stack settings
	// (a service account's e-mail and private key); without them the
	// manager's workload identity is used.
	AccessIDConfigKey   string `json:"accessIDConfigKey,omitempty"`
	PrivateKeyConfigKey string `json:"privateKeyConfigKey,omitempty"`
}

// AzureCacheSettings configure an Azure Blob Storage cache.
type AzureCacheSettings struct {
	// ContainerName is the blob container holding the cache.
	ContainerName string `json:"containerName"`
	// AccountName is the storage account of the container.
	AccountName string `json:"accountName,omitempty"`
	// StorageDomain is the storage service's domain (default: Azure's,
	// blob.core.windows.net).
	StorageDomain string `json:"storageDomain,omitempty"`
	// AccountKeyConfigKey names a secret stack setting.
	AccountKeyConfigKey string `json:"accountKeyConfigKey,omitempty"`
}

var cacheTypes = enumOf[CacheSettings]("Type")

// CacheCredential is one credential the manager gets from the cache Secret.
type CacheCredential struct {
	// Env is the manager container's environment variable.
	Env string
	// Key is the key in the Secret (the Helm chart's name for it).
	Key string
	// Setting is where its ConfigKey is set, under cache (e.g.
	// "s3.accessKeyConfigKey").
	Setting string
	// ConfigKey is the secret stack setting the fleet's Secret takes it
	// from; empty with an existing Secret or a workload identity.
	ConfigKey string
}

// backendCredentials are the credentials of each backend that is set, in
// the order s3, gcs, azure. A new credential of a backend is one more entry
// here: the fleet's Secret, the manager's variables and the stack settings
// read follow from it.
func (c CacheSettings) backendCredentials() [][]CacheCredential {
	var out [][]CacheCredential
	if s := c.S3; s != nil {
		out = append(out, []CacheCredential{
			{"CACHE_S3_ACCESS_KEY", "accesskey", "s3.accessKeyConfigKey", s.AccessKeyConfigKey},
			{"CACHE_S3_SECRET_KEY", "secretkey", "s3.secretKeyConfigKey", s.SecretKeyConfigKey},
		})
	}
	if g := c.GCS; g != nil {
		out = append(out, []CacheCredential{
			{"CACHE_GCS_ACCESS_ID", "gcs-access-id", "gcs.accessIDConfigKey", g.AccessIDConfigKey},
			{"CACHE_GCS_PRIVATE_KEY", "gcs-private-key", "gcs.privateKeyConfigKey", g.PrivateKeyConfigKey},
		})
	}
	if a := c.Azure; a != nil {
		out = append(out, []CacheCredential{
			{"CACHE_AZURE_ACCOUNT_KEY", "azure-account-key", "azure.accountKeyConfigKey", a.AccountKeyConfigKey},
		})
	}
	return out
}

// Credentials are the cache Secret's keys this configuration uses: its
// backend's (Validate refuses more than one backend).
func (c CacheSettings) Credentials() []CacheCredential {
	if all := c.backendCredentials(); len(all) > 0 {
		return all[0]
	}
	return nil
}

// configValues are the secret stack settings the credentials name.
func (c CacheSettings) configValues(path string) []ConfigValue {
	var out []ConfigValue
	for _, creds := range c.backendCredentials() {
		for _, cred := range creds {
			if cred.ConfigKey != "" {
				out = append(out, ConfigValue{Path: path + "." + cred.Setting, Key: cred.ConfigKey, Secret: true})
			}
		}
	}
	return out
}

// references are the existing objects the cache settings name.
func (c CacheSettings) references(path, namespace string) []Reference {
	if c.ExistingSecret == "" {
		return nil
	}
	return []Reference{{Path: path + ".existingSecret", Kind: "Secret", Namespace: namespace, Name: c.ExistingSecret}}
}

// CreatesSecret reports whether the fleet makes the cache Secret from stack settings.
func (c CacheSettings) CreatesSecret() bool {
	for _, cred := range c.Credentials() {
		if cred.ConfigKey != "" {
			return true
		}
	}
	return false
}

// usesSecret reports whether the manager reads credentials from a Secret.
func (c CacheSettings) usesSecret() bool { return c.ExistingSecret != "" || c.CreatesSecret() }

func (c CacheSettings) validate(ps *Problems, path string) {
	at := func(f string) string { return path + "." + f }
	if c.Type == "" {
		if c.S3 != nil || c.GCS != nil || c.Azure != nil || c.ExistingSecret != "" || c.Path != "" || c.Shared {
			ps.Add(at("type"), "is required with the other cache settings: one of %s", strings.Join(cacheTypes, ", "))
		}
		return
	}
	checkEnum(ps, at("type"), c.Type, cacheTypes)
	backends := map[string]bool{"s3": c.S3 != nil, "gcs": c.GCS != nil, "azure": c.Azure != nil}
	for name, set := range backends {
		if set && name != c.Type {
			ps.Add(at(name), "is set but the cache type is %q; remove it", c.Type)
		}
	}
	if !backends[c.Type] {
		ps.Add(at(c.Type), "is required for a %s cache (at least its bucket or container)", c.Type)
		return
	}
	if c.ExistingSecret != "" {
		checkDNS1123Subdomain(ps, at("existingSecret"), c.ExistingSecret)
		if c.CreatesSecret() {
			ps.Add(at("existingSecret"), "and the …ConfigKey settings both give credentials; keep one")
		}
	}
	keyPair := func(a, b string, aName, bName string) {
		if (a == "") != (b == "") {
			ps.Add(path, "%s and %s go together: set both or neither", aName, bName)
		}
		for name, key := range map[string]string{aName: a, bName: b} {
			if key != "" && !ValidTokenConfigKey(key) {
				ps.Add(path+"."+name, "must name a secret stack setting (letters, digits, '-' or '_')")
			}
		}
	}
	switch c.Type {
	case "s3":
		s := c.S3
		if s.BucketName == "" {
			ps.Add(at("s3.bucketName"), "is required")
		}
		checkEnum(ps, at("s3.authenticationType"), cmp.Or(s.AuthenticationType, "access-key"), enumOf[S3CacheSettings]("AuthenticationType"))
		keyPair(s.AccessKeyConfigKey, s.SecretKeyConfigKey, "s3.accessKeyConfigKey", "s3.secretKeyConfigKey")
		if s.AuthenticationType == "iam" && c.usesSecret() {
			ps.Add(at("s3.authenticationType"), "is iam (the manager's workload identity), yet keys are given; remove the keys or the iam type")
		}
		if s.AuthenticationType != "iam" && !c.usesSecret() {
			ps.Add(at("s3"), "needs credentials: accessKeyConfigKey and secretKeyConfigKey, cache.existingSecret, or authenticationType: iam with a workload identity (manager.serviceAccountAnnotations)")
		}
		if s.ServerSideEncryption != "" {
			checkEnum(ps, at("s3.serverSideEncryption"), s.ServerSideEncryption, enumOf[S3CacheSettings]("ServerSideEncryption"))
		}
		if s.ServerAddress != "" && strings.Contains(s.ServerAddress, "://") {
			ps.Add(at("s3.serverAddress"), "%q must be host[:port] without a scheme (insecure: true for plain http)", s.ServerAddress)
		}
	case "gcs":
		if c.GCS.BucketName == "" {
			ps.Add(at("gcs.bucketName"), "is required")
		}
		keyPair(c.GCS.AccessIDConfigKey, c.GCS.PrivateKeyConfigKey, "gcs.accessIDConfigKey", "gcs.privateKeyConfigKey")
	case "azure":
		if c.Azure.ContainerName == "" {
			ps.Add(at("azure.containerName"), "is required")
		}
		if c.Azure.AccountKeyConfigKey != "" && !ValidTokenConfigKey(c.Azure.AccountKeyConfigKey) {
			ps.Add(at("azure.accountKeyConfigKey"), "must name a secret stack setting")
		}
		if c.Azure.AccountName == "" {
			ps.Add(at("azure.accountName"), "is required: the storage account of the container")
		}
	}
}

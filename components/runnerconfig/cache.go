package runnerconfig

import "github.com/glrf/gitlab-runner-fleet/components/settings"

// CacheConfig is [runners.cache] (the runner's cacheconfig.Config, named
// CacheConfig in its key history).
type CacheConfig struct {
	Type   string          `toml:"Type" runner:"CacheConfig"`
	Path   string          `toml:"Path,omitempty" runner:"CacheConfig"`
	Shared bool            `toml:"Shared,omitempty" runner:"CacheConfig"`
	S3     *CacheS3Config  `toml:"s3,omitempty" runner:"CacheConfig"`
	GCS    *CacheGCSConfig `toml:"gcs,omitempty" runner:"CacheConfig"`
	Azure  *CacheAzConfig  `toml:"azure,omitempty" runner:"CacheConfig"`
}

// CacheS3Config is [runners.cache.s3]; keys come from the environment.
type CacheS3Config struct {
	ServerAddress             string `toml:"ServerAddress,omitempty" runner:"CacheS3Config"`
	BucketName                string `toml:"BucketName" runner:"CacheS3Config"`
	BucketLocation            string `toml:"BucketLocation,omitempty" runner:"CacheS3Config"`
	Insecure                  bool   `toml:"Insecure,omitempty" runner:"CacheS3Config"`
	PathStyle                 *bool  `toml:"PathStyle,omitempty" runner:"CacheS3Config"`
	AuthenticationType        string `toml:"AuthenticationType,omitempty" runner:"CacheS3Config"`
	ServerSideEncryption      string `toml:"ServerSideEncryption,omitempty" runner:"CacheS3Config"`
	ServerSideEncryptionKeyID string `toml:"ServerSideEncryptionKeyID,omitempty" runner:"CacheS3Config"`
}

// CacheGCSConfig is [runners.cache.gcs].
type CacheGCSConfig struct {
	BucketName string `toml:"BucketName" runner:"CacheGCSConfig"`
}

// CacheAzConfig is [runners.cache.azure].
type CacheAzConfig struct {
	ContainerName string `toml:"ContainerName" runner:"CacheAzureConfig"`
	AccountName   string `toml:"AccountName,omitempty" runner:"CacheAzureCredentials"`
	StorageDomain string `toml:"StorageDomain,omitempty" runner:"CacheAzureConfig"`
}

// cacheConfig renders [runners.cache], credentials left out.
func cacheConfig(c settings.CacheSettings) *CacheConfig {
	if c.Type == "" {
		return nil
	}
	out := &CacheConfig{Type: c.Type, Path: c.Path, Shared: c.Shared}
	switch {
	case c.S3 != nil:
		s := c.S3
		out.S3 = &CacheS3Config{ServerAddress: s.ServerAddress, BucketName: s.BucketName, BucketLocation: s.BucketLocation,
			Insecure: s.Insecure, PathStyle: s.PathStyle, AuthenticationType: s.AuthenticationType,
			ServerSideEncryption: s.ServerSideEncryption, ServerSideEncryptionKeyID: s.ServerSideEncryptionKeyID}
	case c.GCS != nil:
		out.GCS = &CacheGCSConfig{BucketName: c.GCS.BucketName}
	case c.Azure != nil:
		out.Azure = &CacheAzConfig{ContainerName: c.Azure.ContainerName, AccountName: c.Azure.AccountName, StorageDomain: c.Azure.StorageDomain}
	}
	return out
}

func init() {
	addPart("cache", func(r *RunnerConfig, s settings.FleetSettings) { r.Cache = cacheConfig(s.Cache) })
}

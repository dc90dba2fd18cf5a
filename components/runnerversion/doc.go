// Package runnerversion holds what the fleet knows of GitLab Runner's
// releases: a release number, and which config.toml keys and feature flags
// each release reads.
//
// GitLab Runner decodes config.toml without rejecting unknown keys: a key or
// feature flag newer than the runner image is silently ignored, and so is
// one the runner has dropped. So the fleet must know which release its
// managers run and refuse what that release does not read.
//
// runnerdata/keys.tsv and runnerdata/flags.tsv list, for every config.toml
// key (by the Go struct that holds it in the runner's common/config.go, or
// in cache/cacheconfig, referees, common/config/runner and helpers/docker;
// a field without a toml tag by its Go name, as BurntSushi/toml reads it)
// and every feature flag (helpers/featureflags/flags.go), the first and the
// last minor release that has it, read from the runner's git tags
// v15.0.0-v19.3.0; runnerdata/tables.tsv says which struct each nested table
// is, and which structs a struct embeds. tools/runnerlab walks the runner's
// own config types and fails when a key or table is missing here.
//
// This package is a leaf: it imports nothing of the project and no Pulumi.
package runnerversion

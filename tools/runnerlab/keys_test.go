package runnerlab_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/runnerversion"
	"gitlab.com/gitlab-org/gitlab-runner/common"
)

// The key table (components/runnerversion/runnerdata) against the runner's
// own config types: every config.toml key the lab's runner source decodes,
// found by walking common.Config as BurntSushi/toml does (a field's toml tag
// or, untagged, its Go name; untagged embedded structs read as their
// owner's keys), must be in the table for v19.3.0, or be one of the keys the
// lab's newer source has that v19.3.0 does not. Every nested table and
// embedded struct must be in tables.tsv, and every key the table says
// v19.3.0 still has must exist in the source.
func TestKeyTableHasEveryKeyOfTheRunnersTypes(t *testing.T) {
	source := walkRunnerConfigTypes(t)
	pinned := runnerversion.Version{Major: 19, Minor: 3}

	for _, k := range source.keys {
		ok, _ := runnerversion.KeyAvailable(k.owner, k.key, pinned)
		if newerThanTable[k.owner+"."+k.key] {
			assert.False(t, ok, "%s.%s is listed as newer than v19.3.0 but the table has it; drop it from newerThanTable", k.owner, k.key)
			continue
		}
		assert.True(t, ok, "the runner's %s reads the config.toml key %q (field %s): add %s.%s to runnerdata/keys.tsv", k.goType, k.key, k.field, k.owner, k.key)
		if k.child != "" {
			assert.Contains(t, runnerversion.NestedTables(k.owner, k.key), k.child, "%s.%s is the table %s: add it to runnerdata/tables.tsv", k.owner, k.key, k.child)
		}
	}
	for owner, embedded := range source.embedded {
		for _, e := range embedded {
			assert.Contains(t, runnerversion.Embedded(owner), e, "%s embeds %s: add %s.-\t%s to runnerdata/tables.tsv", owner, e, owner, e)
		}
	}
	for key := range newerThanTable {
		assert.Contains(t, source.paths, key, "newerThanTable lists %s, which the runner source does not have", key)
	}
	for _, key := range tableKeysStillPresent(t) {
		assert.Contains(t, source.paths, key, "runnerdata/keys.tsv says v19.3.0 still reads %s, but the runner source has no such key", key)
	}
}

// The walk sees the keys the issue found missing: fields without a toml tag
// (docker-machine's), and tables in packages other than common (referees,
// monitoring, the Docker credentials embedded in [runners.docker]).
func TestKeyTableWalkSeesUntaggedFieldsAndOtherPackages(t *testing.T) {
	source := walkRunnerConfigTypes(t)
	for _, key := range []string{
		"DockerMachine.IdleCount", "DockerMachine.MachineDriver", "DockerMachineAutoscaling.Periods",
		"RefereesConfig.metrics", "MetricsRefereeConfig.prometheus_address",
		"Monitoring.job_queuing_durations", "JobQueuingDuration.threshold",
		"DockerCredentials.host", "KubernetesConfig.namespace", "CacheConfig.Type",
	} {
		assert.Contains(t, source.paths, key)
	}
	assert.Contains(t, source.embedded["DockerConfig"], "DockerCredentials")
	assert.Contains(t, source.embedded["RunnerConfig"], "RunnerSettings")
}

// newerThanTable are the keys the lab's runner source (a 19.4 pre-release,
// see tools/build/gitlab-runner) decodes that v19.3.0, the newest release in
// the table, does not (read from the runner's git tags): a fleet on v19.3.0
// must not render them.
var newerThanTable = map[string]bool{
	"CacheConfig.RedactURL":                      true,
	"Config.log_field_schema_version":            true,
	"Config.log_field_dual_emit_target":          true,
	"BootVerify.verify_auth":                     true,
	"BootVerify.verify_server_url":               true,
	"BootVerify.verify_server_url_insecure":      true,
	"BootVerify.verify_cache":                    true,
	"BootVerify.verify_commands":                 true,
	"BootVerify.verify_helper_version":           true,
	"Service.suspend_data_path":                  true,
	"DockerMachine.HeartbeatInterval":            true,
	"KubernetesConfig.suspend_pvc_size":          true,
	"KubernetesConfig.suspend_pvc_storage_class": true,
	"MachineConfig.heartbeat":                    true,
	"MachineHeartbeat.concurrency":               true,
}

// tableNames are the table's names of runner structs outside package common
// whose Go name alone is ambiguous (several packages have a Config).
var tableNames = map[string]string{
	"gitlab.com/gitlab-org/gitlab-runner/cache/cacheconfig.Config":   "CacheConfig", // common.CacheConfig until v18.10
	"gitlab.com/gitlab-org/gitlab-runner/referees.Config":            "RefereesConfig",
	"gitlab.com/gitlab-org/gitlab-runner/helpers/docker.Credentials": "DockerCredentials",
}

func tableName(t reflect.Type) string {
	if name, ok := tableNames[t.PkgPath()+"."+t.Name()]; ok {
		return name
	}
	return t.Name()
}

type sourceKey struct {
	owner, key, field, goType string
	child                     string // the table's name of a nested table's struct
}

type sourceKeys struct {
	keys     []sourceKey
	paths    []string            // owner.key
	embedded map[string][]string // owner: embedded structs
}

const runnerModule = "gitlab.com/gitlab-org/gitlab-runner"

// walkRunnerConfigTypes lists every key of common.Config and the runner
// structs under it. KubernetesNFS decodes itself (UnmarshalTOML), reading
// the keys its tags name.
func walkRunnerConfigTypes(t *testing.T) sourceKeys {
	t.Helper()
	out := sourceKeys{embedded: map[string][]string{}}
	owners := map[string]reflect.Type{}
	var walk func(reflect.Type)
	walk = func(st reflect.Type) {
		name := tableName(st)
		if prev, seen := owners[name]; seen {
			if prev != st {
				t.Fatalf("%s and %s would share the table name %s: name one in tableNames", prev.PkgPath(), st.PkgPath(), name)
			}
			return
		}
		owners[name] = st
		for i := range st.NumField() {
			f := st.Field(i)
			if !f.IsExported() {
				continue
			}
			key, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if key == "-" {
				continue
			}
			inner := table(f.Type)
			if f.Anonymous && key == "" && inner != nil {
				out.embedded[name] = append(out.embedded[name], tableName(inner))
				walk(inner)
				continue
			}
			if key == "" {
				key = f.Name
			}
			k := sourceKey{owner: name, key: key, field: f.Name, goType: st.PkgPath() + "." + st.Name()}
			if inner != nil {
				k.child = tableName(inner)
			}
			out.keys = append(out.keys, k)
			out.paths = append(out.paths, name+"."+key)
			if inner != nil {
				walk(inner)
			}
		}
	}
	walk(reflect.TypeFor[common.Config]())
	slices.Sort(out.paths)
	return out
}

// table is the runner struct a field of type ft decodes as a TOML table (or
// array of tables), nil for a value.
func table(ft reflect.Type) reflect.Type {
	for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice || ft.Kind() == reflect.Array {
		ft = ft.Elem()
	}
	if ft.Kind() != reflect.Struct || !strings.HasPrefix(ft.PkgPath(), runnerModule) {
		return nil
	}
	return ft
}

// tableKeysStillPresent are the keys runnerdata/keys.tsv says v19.3.0 reads.
func tableKeysStillPresent(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "components", "runnerversion", "runnerdata", "keys.tsv"))
	require.NoError(t, err)
	var out []string
	for line := range strings.Lines(string(data)) {
		fields := strings.Split(strings.TrimSpace(line), "\t")
		if strings.HasPrefix(line, "#") || len(fields) != 3 || strings.HasSuffix(fields[0], ".-") {
			continue
		}
		if fields[2] == "v19.3.0" {
			out = append(out, fields[0])
		}
	}
	require.NotEmpty(t, out)
	return out
}

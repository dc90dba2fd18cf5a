package runnerconfig

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/glrf/gitlab-runner-fleet/components/runnerversion"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// fleetOwnedKeys may never come from extraConfig (paths in the [[runners]] entry).
var fleetOwnedKeys = []string{
	"token", "url", "id", "token_obtained_at", "token_expires_at", "tls-ca-file", "tls-cert-file", "tls-key-file", "executor", "name",
	"kubernetes.namespace", "kubernetes.namespace_per_job", "kubernetes.privileged", "kubernetes.cap_add", "kubernetes.cap_drop",
	"kubernetes.allow_privilege_escalation", "kubernetes.pod_security_context", "kubernetes.build_container_security_context",
	"kubernetes.helper_container_security_context", "kubernetes.service_container_security_context",
	"kubernetes.init_permissions_container_security_context", "kubernetes.pod_spec", "kubernetes.volumes.host_path",
	"kubernetes.service_account", "kubernetes.service_account_overwrite_allowed", "kubernetes.namespace_overwrite_allowed",
	"kubernetes.bearer_token_overwrite_allowed", "kubernetes.automount_service_account_token", "kubernetes.helper_image",
	"kubernetes.image_pull_secrets", "kubernetes.pod_annotations_overwrite_allowed", "kubernetes.pod_labels_overwrite_allowed",
	"kubernetes.node_selector_overwrite_allowed", "kubernetes.node_tolerations_overwrite_allowed", "kubernetes.host_aliases",
	"kubernetes.pull_policy", "kubernetes.allowed_pull_policies", "kubernetes.autoscaler",
	"feature_flags." + runnerversion.FFDisableTokenRotation, "feature_flags." + runnerversion.FFAdvancedPodSpec,
}

// parseExtraConfig reads executor.extraConfig.
func parseExtraConfig(text string) (map[string]any, error) {
	out := map[string]any{}
	if _, err := toml.Decode(text, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkExtraConfig reports every key of extra the fleet must refuse;
// rendered is the fleet's own [[runners]] entry as a map.
//
// executor.extraConfig, the escape hatch, is TOML for the [[runners]] entry,
// for runner options not typed here yet. It is merged into the rendered
// template key by key, and checked first:
//
//   - every key must be one the runner release of the managers reads, in the
//     table it belongs to (runnerdata/keys.tsv, and runnerdata/tables.tsv for
//     which runner struct each nested table is);
//   - no key may set what the fleet renders itself (its typed settings win,
//     and a second value would be silently ignored or override them);
//   - no key may touch what the fleet owns for safety: the token and URL,
//     the job namespace, security contexts, privileges and capabilities, the
//     service account and its overwrites, pod spec patches, host paths, the
//     helper image, and the feature flags the fleet sets.
func checkExtraConfig(ps *settings.Problems, path string, extra, rendered map[string]any, v runnerversion.Version) {
	walkExtra(ps, path, "", extra, rendered, []string{"RunnerConfig"}, v)
}

func walkExtra(ps *settings.Problems, setting, prefix string, extra, rendered map[string]any, owners []string, v runnerversion.Version) {
	for _, key := range slices.Sorted(maps.Keys(extra)) {
		keyPath := strings.TrimPrefix(prefix+"."+key, ".")
		value := extra[key]
		if prefix == "feature_flags" {
			if ok, why := runnerversion.FlagAvailable(key, v); !ok {
				ps.Add(setting, "%s: %s", keyPath, why)
			} else if isOwned(keyPath) {
				ps.Add(setting, "%s is set by the fleet; it cannot come from extraConfig", keyPath)
			} else if _, set := rendered[key]; set {
				ps.Add(setting, "%s is already set by a typed setting (executor.featureFlags)", keyPath)
			}
			continue
		}
		if isOwned(keyPath) {
			ps.Add(setting, "%s belongs to the fleet (token, URL, namespace, privileges, security contexts, service accounts, pod spec patches); use the typed settings", keyPath)
			continue
		}
		if typedKeys[keyPath] {
			ps.Add(setting, "%s has a typed setting of the fleet; use it (see the README's settings)", keyPath)
			continue
		}
		owner, known := ownerOf(owners, key, v)
		if !known {
			_, why := runnerversion.KeyAvailable(owners[0], key, v)
			ps.Add(setting, "%s: %s", keyPath, strings.Replace(why, owners[0]+"."+key, "["+strings.Join(owners, "|")+"] "+key, 1))
			continue
		}
		children := runnerversion.NestedTables(owner, key)
		renderedValue, renderedSet := rendered[key]
		switch val := value.(type) {
		case map[string]any:
			if len(children) == 0 && key != "feature_flags" {
				if renderedSet {
					ps.Add(setting, "%s is already set by a typed setting", keyPath)
				}
				continue // a map value such as node_selector: checked as a whole
			}
			sub, _ := renderedValue.(map[string]any)
			if key == "feature_flags" {
				walkExtra(ps, setting, "feature_flags", val, sub, nil, v)
				continue
			}
			walkExtra(ps, setting, keyPath, val, sub, expand(children), v)
		case []map[string]any:
			if renderedSet {
				ps.Add(setting, "%s is already set by a typed setting", keyPath)
				continue
			}
			for _, item := range val {
				walkExtra(ps, setting, keyPath, item, nil, expand(children), v)
			}
		default:
			if renderedSet {
				ps.Add(setting, "%s is already set by a typed setting; change that setting instead", keyPath)
			}
		}
	}
}

// expand adds the structs embedded in each owner (RunnerConfig embeds
// RunnerCredentials and RunnerSettings, for example).
func expand(owners []string) []string {
	var out []string
	for _, o := range owners {
		out = append(out, o)
		out = append(out, expand(runnerversion.Embedded(o))...)
	}
	return out
}

// ownerOf finds which of owners (and their embedded structs) holds key in release v.
func ownerOf(owners []string, key string, v runnerversion.Version) (string, bool) {
	for _, o := range expand(owners) {
		if ok, _ := runnerversion.KeyAvailable(o, key, v); ok {
			return o, true
		}
	}
	return "", false
}

// typedKeys are the [[runners]] key paths the fleet's typed settings render
// (every toml key of RunnerConfig and the tables under it).
var typedKeys = func() map[string]bool {
	out := map[string]bool{}
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ",")
			if name == "" || name == "-" {
				continue
			}
			path := strings.TrimPrefix(prefix+"."+name, ".")
			ft := t.Field(i).Type
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				walk(ft, path) // a table: its keys are typed, not the table itself
				continue
			}
			if name != "feature_flags" {
				out[path] = true
			}
		}
	}
	walk(reflect.TypeOf(RunnerConfig{}), "")
	return out
}()

func isOwned(keyPath string) bool {
	for _, owned := range fleetOwnedKeys {
		if keyPath == owned || strings.HasPrefix(keyPath, owned+".") {
			return true
		}
	}
	return false
}

// mergeExtraConfig renders the fleet's template with the extra keys added.
func mergeExtraConfig(rendered RunnerConfig, extra map[string]any) (string, error) {
	text, err := encodeTOML(RunnerTemplate{Runners: []RunnerConfig{rendered}})
	if err != nil {
		return "", err
	}
	var doc map[string]any
	if _, err := toml.Decode(text, &doc); err != nil {
		return "", err
	}
	runners := doc["runners"].([]map[string]any)
	deepMerge(runners[0], extra)
	return encodeTOML(doc)
}

func deepMerge(into, from map[string]any) {
	for k, v := range from {
		if sub, ok := v.(map[string]any); ok {
			if existing, ok := into[k].(map[string]any); ok {
				deepMerge(existing, sub)
				continue
			}
		}
		into[k] = v
	}
}

// renderedMap is the fleet's own [[runners]] entry as a generic map.
func renderedMap(r RunnerConfig) map[string]any {
	text, err := encodeTOML(RunnerTemplate{Runners: []RunnerConfig{r}})
	if err != nil {
		panic(fmt.Sprintf("encoding the runner template: %v", err))
	}
	var doc map[string]any
	if _, err := toml.Decode(text, &doc); err != nil {
		panic(fmt.Sprintf("decoding the runner template: %v", err))
	}
	return doc["runners"].([]map[string]any)[0]
}

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

// credentialKeys are [[runners]] keys that hold credentials, or reach
// another API server than the managers' own: in extraConfig they would sit
// in a ConfigMap, readable by whoever reads the managers' namespace.
var credentialKeys = map[string]string{
	"kubernetes.bearer_token":   "a Kubernetes token",
	"kubernetes.host":           "another API server than the managers' own",
	"kubernetes.context":        "another API server than the managers' own",
	"kubernetes.cert_file":      "a Kubernetes client certificate",
	"kubernetes.key_file":       "a Kubernetes client key",
	"kubernetes.ca_file":        "another API server than the managers' own",
	"cache.s3.AccessKey":        "the cache's access key (use cache.existingSecret or cache.s3.accessKeyConfigKey)",
	"cache.s3.SecretKey":        "the cache's secret key (use cache.existingSecret or cache.s3.secretKeyConfigKey)",
	"cache.s3.SessionToken":     "a cache session token",
	"cache.gcs.AccessID":        "the cache's access id (use cache.existingSecret or the GCS settings' config keys)",
	"cache.gcs.PrivateKey":      "the cache's private key (use cache.existingSecret or the GCS settings' config keys)",
	"cache.gcs.CredentialsFile": "a cache credentials file",
	"cache.azure.AccountKey":    "the cache's account key (use cache.existingSecret or the Azure settings' config keys)",
}

// schedulingKeys decide which nodes job pods run on: a privileged fleet's
// jobs run on a node pool of their own (executor.nodeSelector and
// tolerations, checked against the managers'), and extraConfig may not move
// them off it.
var schedulingKeys = []string{
	"kubernetes.affinity", "kubernetes.node_selector", "kubernetes.node_tolerations", "kubernetes.scheduler_name",
	"kubernetes.priority_class_name", "kubernetes.runtime_class_name",
	"kubernetes.node_selector_overwrite_allowed", "kubernetes.node_tolerations_overwrite_allowed",
}

// podNeutralKeys are [runners.kubernetes] keys that extraConfig may set
// although the job-pod model holds none of them: they change how the
// manager talks to the API server, or bound what a job may ask for itself
// (the job namespace's quota bounds the total), never the pod the
// configuration builds. Any other key the model does not hold is refused:
// it would change the job pod past the fleet's checks.
var podNeutralKeys = []string{
	"poll_interval", "poll_timeout", "resource_availability_check_max_attempts", "retry_backoff_max", "retry_limit",
	"retry_limits", "cleanup_resources_timeout", "cleanup_grace_period_seconds", "helper_image_autoset_arch_and_os",
	"allowed_users", "allowed_groups",
	"ephemeral_storage_limit_overwrite_max_allowed", "ephemeral_storage_request_overwrite_max_allowed",
	"helper_cpu_limit_overwrite_max_allowed", "helper_cpu_request_overwrite_max_allowed",
	"helper_memory_limit_overwrite_max_allowed", "helper_memory_request_overwrite_max_allowed",
	"helper_ephemeral_storage_limit_overwrite_max_allowed", "helper_ephemeral_storage_request_overwrite_max_allowed",
	"service_cpu_limit_overwrite_max_allowed", "service_cpu_request_overwrite_max_allowed",
	"service_memory_limit_overwrite_max_allowed", "service_memory_request_overwrite_max_allowed",
	"service_ephemeral_storage_limit_overwrite_max_allowed", "service_ephemeral_storage_request_overwrite_max_allowed",
	"pod_cpu_limit_overwrite_max_allowed", "pod_cpu_request_overwrite_max_allowed",
	"pod_memory_limit_overwrite_max_allowed", "pod_memory_request_overwrite_max_allowed",
}

// unjudgedKeys are the extraConfig keys the job-pod model cannot judge:
// keys of [runners.kubernetes] (the job pod's table) that the final entry's
// decoding left undecoded (see decodeFinalEntry), outside podNeutralKeys;
// the top-most of each undecoded table.
func unjudgedKeys(undecoded []string) []string {
	set := map[string]bool{}
	for _, k := range undecoded {
		set[k] = true
	}
	var out []string
	for _, k := range undecoded {
		rest, ok := strings.CutPrefix(k, "kubernetes.")
		if !ok {
			continue
		}
		if parent := k[:max(strings.LastIndex(k, "."), 0)]; set[parent] {
			continue
		}
		first, _, _ := strings.Cut(rest, ".")
		if !slices.Contains(podNeutralKeys, first) {
			out = append(out, k)
		}
	}
	return out
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
//     helper image, and the feature flags the fleet sets;
//   - no key may hold a credential, or point the runner at another API
//     server (credentialKeys): it would sit in a ConfigMap;
//   - a privileged fleet's extraConfig may not touch where jobs are
//     scheduled (schedulingKeys);
//   - the merged entry must decode whole into the job-pod model, but for
//     keys that cannot change the job pod (unjudgedKeys): the job pod the
//     fleet checks is built from it, so whatever extraConfig adds is judged.
func checkExtraConfig(ps *settings.Problems, path string, extra, rendered map[string]any, v runnerversion.Version, privileged bool) {
	walkExtra(ps, path, "", extra, rendered, []string{"RunnerConfig"}, v, privileged)
}

func walkExtra(ps *settings.Problems, setting, prefix string, extra, rendered map[string]any, owners []string, v runnerversion.Version, privileged bool) {
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
		if what, credential := credentialKeys[keyPath]; credential {
			ps.Add(setting, "%s would put %s in the configuration's ConfigMap, where whoever reads the managers' namespace reads it; remove it", keyPath, what)
			continue
		}
		if privileged && slices.ContainsFunc(schedulingKeys, func(k string) bool { return keyPath == k || strings.HasPrefix(keyPath, k+".") }) {
			ps.Add(setting, "%s could move this fleet's privileged jobs off their dedicated node pool; schedule them with executor.nodeSelector and executor.tolerations", keyPath)
			continue
		}
		if isOwned(keyPath) {
			ps.Add(setting, "%s belongs to the fleet (token, URL, namespace, privileges, security contexts, service accounts, pod spec patches); use the typed settings", keyPath)
			continue
		}
		if typedKeys[keyPath] {
			ps.Add(setting, "%s has a typed setting of the fleet; use it (see docs/reference/settings.md)", keyPath)
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
				if renderedSet && !mergedKeys[keyPath] {
					ps.Add(setting, "%s is already set by a typed setting", keyPath)
				}
				continue // a map value such as node_selector: checked as a whole
			}
			sub, _ := renderedValue.(map[string]any)
			if key == "feature_flags" {
				walkExtra(ps, setting, "feature_flags", val, sub, nil, v, privileged)
				continue
			}
			walkExtra(ps, setting, keyPath, val, sub, expand(children), v, privileged)
		case []map[string]any:
			if renderedSet {
				ps.Add(setting, "%s is already set by a typed setting", keyPath)
				continue
			}
			for _, item := range val {
				walkExtra(ps, setting, keyPath, item, nil, expand(children), v, privileged)
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
// (every toml key of RunnerConfig and the tables under it), but those only
// extraConfig sets (tag fleet:"extra") and the maps whose entries it adds to
// the fleet's (mergedKeys).
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
			if name == "" || name == "-" || t.Field(i).Tag.Get("fleet") == "extra" {
				continue
			}
			path := strings.TrimPrefix(prefix+"."+name, ".")
			if mergedKeys[path] {
				continue
			}
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

// mergedKeys are the maps of the fleet's entry whose entries extraConfig
// may add to, or change (the same key from extraConfig wins): retry_limits,
// where the fleet names the quota's refusal (quotaRetries).
var mergedKeys = map[string]bool{"kubernetes.retry_limits": true}

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

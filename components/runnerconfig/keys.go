package runnerconfig

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/glrf/gitlab-runner-fleet/components/runnerversion"
)

// UnsupportedRunnerKeys walks a rendered configuration value (the structs of
// this package, whose fields name the runner struct that holds each key
// in a `runner` tag) and lists every key and feature flag that would be
// encoded but that release v does not read.
func UnsupportedRunnerKeys(value any, v runnerversion.Version) []string {
	var out []string
	walkRunnerKeys(reflect.ValueOf(value), "", v, &out)
	return out
}

func walkRunnerKeys(value reflect.Value, path string, v runnerversion.Version, out *[]string) {
	for value.Kind() == reflect.Pointer || value.Kind() == reflect.Interface {
		if value.IsNil() {
			return
		}
		value = value.Elem()
	}
	switch value.Kind() {
	case reflect.Slice, reflect.Array:
		for i := range value.Len() {
			walkRunnerKeys(value.Index(i), path, v, out)
		}
		return
	case reflect.Struct:
	default:
		return
	}
	t := value.Type()
	for i := range t.NumField() {
		field, fv := t.Field(i), value.Field(i)
		name, opts, _ := strings.Cut(field.Tag.Get("toml"), ",")
		if name == "" || name == "-" {
			continue
		}
		if strings.Contains(opts, "omitempty") && fv.IsZero() {
			continue
		}
		keyPath := strings.TrimPrefix(path+"."+name, ".")
		owner := field.Tag.Get("runner")
		if owner == "" {
			panic(fmt.Sprintf("%s.%s has no runner tag naming the runner struct that holds %q", t.Name(), field.Name, name))
		}
		if ok, why := runnerversion.KeyAvailable(owner, name, v); !ok {
			*out = append(*out, keyPath+": "+why)
			continue
		}
		if name == "feature_flags" && fv.Kind() == reflect.Map {
			for _, flag := range slices.Sorted(maps.Keys(fv.Interface().(map[string]bool))) {
				if ok, why := runnerversion.FlagAvailable(flag, v); !ok {
					*out = append(*out, keyPath+"."+flag+": "+why)
				}
			}
			continue
		}
		walkRunnerKeys(fv, keyPath, v, out)
	}
}

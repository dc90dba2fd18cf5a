package components

import (
	"bufio"
	_ "embed"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

// GitLab Runner decodes config.toml without rejecting unknown keys: a key or
// feature flag newer than the runner image is silently ignored, and one the
// runner has dropped is ignored as well. So the fleet must know which runner
// release its managers run and refuse what that release does not read.
//
// runnerdata/keys.tsv and runnerdata/flags.tsv list, for every config.toml
// key (by the Go struct that holds it in the runner's common/config.go) and
// every feature flag (helpers/featureflags/flags.go), the first and the last
// minor release that has it, read from the runner's git tags v15.0.0-v19.3.0.

//go:embed runnerdata/keys.tsv
var runnerKeysTSV string

//go:embed runnerdata/flags.tsv
var runnerFlagsTSV string

// RunnerVersion is a GitLab Runner release.
type RunnerVersion struct{ Major, Minor, Patch int }

func (v RunnerVersion) String() string { return fmt.Sprintf("v%d.%d.%d", v.Major, v.Minor, v.Patch) }

// minorLess orders releases by major and minor only: the tables are per minor
// release, and a patch release reads the keys of its minor release.
func (v RunnerVersion) minorLess(o RunnerVersion) bool {
	return v.Major < o.Major || (v.Major == o.Major && v.Minor < o.Minor)
}

// AtLeast reports whether v is the minor release major.minor or a later one.
func (v RunnerVersion) AtLeast(major, minor int) bool {
	return !v.minorLess(RunnerVersion{Major: major, Minor: minor})
}

var (
	// MinimumRunnerVersion is the oldest runner the fleet supports: the first
	// release that lets the stack turn the runner's own token rotation off
	// (FF_DISABLE_AUTOMATIC_TOKEN_ROTATION), after the removal of the old
	// terminationGracePeriodSeconds key.
	MinimumRunnerVersion = RunnerVersion{17, 0, 0}
	// NewestKnownRunnerVersion is the newest release the tables know. A newer
	// runner is assumed to read every key this one reads.
	NewestKnownRunnerVersion = RunnerVersion{19, 3, 0}

	runnerVersionRe = regexp.MustCompile(`^v?(\d+)\.(\d+)\.(\d+)$`)
	// An image tag ending in a release: v19.3.0, alpine-v19.3.0, ubuntu-v18.6.0.
	imageTagVersionRe = regexp.MustCompile(`(?:^|-)v(\d+)\.(\d+)\.(\d+)$`)
)

// ParseRunnerVersion reads "v19.3.0" or "19.3.0".
func ParseRunnerVersion(s string) (RunnerVersion, bool) {
	m := runnerVersionRe.FindStringSubmatch(s)
	if m == nil {
		return RunnerVersion{}, false
	}
	return RunnerVersion{atoi(m[1]), atoi(m[2]), atoi(m[3])}, true
}

// RunnerVersionOfImage reads the release from an image tag such as
// registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v19.3.0. A digest or a
// tag without a release says nothing.
func RunnerVersionOfImage(image string) (RunnerVersion, bool) {
	ref := image
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	i := strings.LastIndex(ref, ":")
	if i < 0 || i < strings.LastIndex(ref, "/") || strings.Contains(image, "@") {
		return RunnerVersion{}, false
	}
	m := imageTagVersionRe.FindStringSubmatch(ref[i+1:])
	if m == nil {
		return RunnerVersion{}, false
	}
	return RunnerVersion{atoi(m[1]), atoi(m[2]), atoi(m[3])}, true
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s) // only called on \d+ matches
	return n
}

// releaseSpan is the first and the last minor release that has a key or flag.
type releaseSpan struct{ first, last RunnerVersion }

func (s releaseSpan) has(v RunnerVersion) bool {
	if NewestKnownRunnerVersion.minorLess(v) {
		v = NewestKnownRunnerVersion
	}
	return !v.minorLess(s.first) && !s.last.minorLess(v)
}

var runnerKeys, runnerFlags = parseReleaseTable(runnerKeysTSV), parseReleaseTable(runnerFlagsTSV)

func parseReleaseTable(tsv string) map[string]releaseSpan {
	table := map[string]releaseSpan{}
	scanner := bufio.NewScanner(strings.NewReader(tsv))
	for scanner.Scan() {
		line := scanner.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		first, ok1 := ParseRunnerVersion(strings.TrimSpace(fields[1]))
		last, ok2 := ParseRunnerVersion(strings.TrimSpace(fields[2]))
		if len(fields) != 3 || !ok1 || !ok2 {
			panic("malformed runner release table line: " + line)
		}
		table[fields[0]] = releaseSpan{first, last}
	}
	return table
}

// RunnerKeyAvailable reports whether runner release v reads the config.toml
// key `key` of the runner's Go struct `owner` (e.g. "KubernetesConfig",
// "pod_disruption_budget"), and if not, why.
func RunnerKeyAvailable(owner, key string, v RunnerVersion) (bool, string) {
	return availability(runnerKeys, owner+"."+key, v, "config.toml key")
}

// RunnerFeatureFlagAvailable is RunnerKeyAvailable for a feature flag.
func RunnerFeatureFlagAvailable(flag string, v RunnerVersion) (bool, string) {
	return availability(runnerFlags, flag, v, "feature flag")
}

func availability(table map[string]releaseSpan, name string, v RunnerVersion, what string) (bool, string) {
	span, known := table[name]
	switch {
	case !known:
		return false, fmt.Sprintf("%s %s is not known to any GitLab Runner release up to %s", what, name, NewestKnownRunnerVersion)
	case span.has(v):
		return true, ""
	case v.minorLess(span.first):
		return false, fmt.Sprintf("%s %s needs GitLab Runner %d.%d or later, but the managers run %s", what, name, span.first.Major, span.first.Minor, v)
	default:
		return false, fmt.Sprintf("%s %s was removed after GitLab Runner %d.%d, but the managers run %s", what, name, span.last.Major, span.last.Minor, v)
	}
}

// UnsupportedRunnerKeys walks a rendered configuration value (the structs of
// runnerconfig.go, whose fields name the runner struct that holds each key
// in a `runner` tag) and lists every key and feature flag that would be
// encoded but that release v does not read.
func UnsupportedRunnerKeys(value any, v RunnerVersion) []string {
	var out []string
	walkRunnerKeys(reflect.ValueOf(value), "", v, &out)
	return out
}

func walkRunnerKeys(value reflect.Value, path string, v RunnerVersion, out *[]string) {
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
		if ok, why := RunnerKeyAvailable(owner, name, v); !ok {
			*out = append(*out, keyPath+": "+why)
			continue
		}
		if name == "feature_flags" && fv.Kind() == reflect.Map {
			for _, flag := range sortedKeys(fv.Interface().(map[string]bool)) {
				if ok, why := RunnerFeatureFlagAvailable(flag, v); !ok {
					*out = append(*out, keyPath+"."+flag+": "+why)
				}
			}
			continue
		}
		walkRunnerKeys(fv, keyPath, v, out)
	}
}

package runnerversion

import (
	"bufio"
	_ "embed"
	"fmt"
	"strings"
)

//go:embed runnerdata/keys.tsv
var keysTSV string

//go:embed runnerdata/flags.tsv
var flagsTSV string

//go:embed runnerdata/tables.tsv
var tablesTSV string

// releaseSpan is the first and the last minor release that has a key or flag.
type releaseSpan struct{ first, last Version }

func (s releaseSpan) has(v Version) bool {
	if NewestKnown.minorLess(v) {
		v = NewestKnown
	}
	return !v.minorLess(s.first) && !s.last.minorLess(v)
}

var (
	keys, flags = parseReleaseTable(keysTSV), parseReleaseTable(flagsTSV)
	// tables maps "Struct.key" to the struct of that nested table, and
	// "Struct.-" to the structs embedded in Struct.
	tables = parseTables(tablesTSV)
)

func parseReleaseTable(tsv string) map[string]releaseSpan {
	table := map[string]releaseSpan{}
	scanner := bufio.NewScanner(strings.NewReader(tsv))
	for scanner.Scan() {
		line := scanner.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 3 {
			panic("malformed runner release table line: " + line)
		}
		first, ok1 := Parse(strings.TrimSpace(fields[1]))
		last, ok2 := Parse(strings.TrimSpace(fields[2]))
		if !ok1 || !ok2 {
			panic("malformed runner release table line: " + line)
		}
		table[fields[0]] = releaseSpan{first, last}
	}
	return table
}

func parseTables(tsv string) map[string][]string {
	out := map[string][]string{}
	scanner := bufio.NewScanner(strings.NewReader(tsv))
	for scanner.Scan() {
		line := scanner.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, child, ok := strings.Cut(line, "\t")
		if !ok {
			panic("malformed runner tables line: " + line)
		}
		out[key] = append(out[key], child)
	}
	return out
}

// KeyAvailable reports whether runner release v reads the config.toml key
// `key` of the runner's Go struct `owner` (e.g. "KubernetesConfig",
// "pod_disruption_budget"), and if not, why.
func KeyAvailable(owner, key string, v Version) (bool, string) {
	return availability(keys, owner+"."+key, v, "config.toml key")
}

// FlagAvailable is KeyAvailable for a feature flag.
func FlagAvailable(flag string, v Version) (bool, string) {
	return availability(flags, flag, v, "feature flag")
}

func availability(table map[string]releaseSpan, name string, v Version, what string) (bool, string) {
	span, known := table[name]
	switch {
	case !known:
		return false, fmt.Sprintf("%s %s is not known to any GitLab Runner release up to %s", what, name, NewestKnown)
	case span.has(v):
		return true, ""
	case v.minorLess(span.first):
		return false, fmt.Sprintf("%s %s needs GitLab Runner %d.%d or later, but the managers run %s", what, name, span.first.Major, span.first.Minor, v)
	default:
		return false, fmt.Sprintf("%s %s was removed after GitLab Runner %d.%d, but the managers run %s", what, name, span.last.Major, span.last.Minor, v)
	}
}

// NestedTables are the runner structs that the table `key` of struct
// `owner` decodes into (e.g. KubernetesConfig.volumes: KubernetesVolumes);
// none when key holds a plain value or a map.
func NestedTables(owner, key string) []string { return tables[owner+"."+key] }

// Embedded are the structs that struct `owner` embeds, whose keys it reads
// as its own (RunnerConfig embeds RunnerCredentials and RunnerSettings).
func Embedded(owner string) []string { return tables[owner+".-"] }

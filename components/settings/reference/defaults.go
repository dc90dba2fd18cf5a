package reference

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// probe is a fleet that settings.FleetSettings.WithDefaults completes; the
// probes differ in everything a default depends on, so that only the
// defaults that hold whatever the other settings are agree across them.
type probe struct {
	stack string
	fleet string
	// under limits the probe to the settings under these paths (empty: all):
	// a fleet with an existing token has no runner settings to default.
	under []string
}

var probes = []probe{
	{stack: "one", fleet: `{"name":"alpha","runner":{"type":"group_type","groupId":1}}`},
	// Another name, stack and runner type; a longer job timeout and
	// shutdown (the managers' grace period follows them); privileged jobs
	// (the job namespace's level follows); tags (untagged follows); an
	// older runner (the keys it reads follow).
	{stack: "two", fleet: `{"name":"beta","runner":{"type":"project_type","projectId":2,"tags":["t"],"maximumTimeout":7200},
		"manager":{"shutdownTimeout":60,"image":"registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v17.5.0"},
		"executor":{"privileged":true}}`},
	// Restricted jobs (their security context follows).
	{stack: "three", fleet: `{"name":"gamma","runner":{"type":"instance_type"},"executor":{"podSecurity":"restricted"}}`},
	{stack: "four", fleet: `{"name":"delta","tokenSecret":{"name":"token"}}`, under: []string{"tokenSecret."}},
}

// fleetDefaults are the defaults of the fleet settings, by path under a
// fleet ("manager.replicas"; a list is one value): the value WithDefaults
// gives a setting every probe leaves out, when all of them get the same.
func fleetDefaults() (map[string]any, error) {
	type outcome struct{ given, defaulted map[string]any }
	var outcomes []outcome
	paths := map[string]bool{}
	for _, p := range probes {
		fleets, ps := settings.DecodeFleets("[" + p.fleet + "]")
		if len(ps) > 0 {
			return nil, fmt.Errorf("probe %s: %v", p.fleet, ps.Err())
		}
		given, err := flatten(fleets[0])
		if err != nil {
			return nil, err
		}
		defaulted, err := flatten(fleets[0].WithDefaults(p.stack))
		if err != nil {
			return nil, err
		}
		if len(p.under) > 0 {
			for path := range defaulted {
				if !hasAnyPrefix(path, p.under) {
					delete(defaulted, path)
				}
			}
		}
		for path := range defaulted {
			paths[path] = true
		}
		outcomes = append(outcomes, outcome{given, defaulted})
	}
	defaults := map[string]any{}
	for path := range paths {
		var value any
		agreed, seen := true, false
		for i, o := range outcomes {
			if _, set := o.given[path]; set || !applies(probes[i], path, o.defaulted) {
				continue
			}
			v, ok := o.defaulted[path]
			switch {
			case !ok, seen && !reflect.DeepEqual(v, value):
				agreed = false
			case !seen:
				value, seen = v, true
			}
		}
		if agreed && seen {
			defaults[path] = value
		}
	}
	return defaults, nil
}

// applies reports whether a probe speaks for the setting at path: the
// setting is within its reach, and the object holding it exists.
func applies(p probe, path string, defaulted map[string]any) bool {
	if len(p.under) > 0 && !hasAnyPrefix(path, p.under) {
		return false
	}
	parent, _, nested := cutLast(path)
	if !nested {
		return true
	}
	for other := range defaulted {
		if strings.HasPrefix(other, parent+".") {
			return true
		}
	}
	return false
}

func cutLast(path string) (parent, key string, ok bool) {
	i := strings.LastIndex(path, ".")
	if i < 0 {
		return "", path, false
	}
	return path[:i], path[i+1:], true
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// flatten is a value as the stack file would hold it, by dotted path:
// objects are walked, lists and every other value are leaves.
func flatten(v any) (map[string]any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var tree map[string]any
	if err := json.Unmarshal(data, &tree); err != nil {
		return nil, err
	}
	out := map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
				continue
			}
			out[prefix+k] = v
		}
	}
	walk("", tree)
	return out, nil
}

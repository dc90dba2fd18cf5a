package components

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// DecodeFleets decodes the `fleets` stack setting (JSON, as Pulumi hands
// structured config to programs). Unlike a plain json.Unmarshal it reports
// every unknown key, with the closest known one, so a typo such as
// `replica: 3` is an error instead of a silently ignored setting.
func DecodeFleets(raw string) ([]FleetSettings, Problems) {
	var ps Problems
	var generic any
	if err := json.Unmarshal([]byte(raw), &generic); err != nil {
		ps.add("fleets", "is not valid structured config: %v", err)
		return nil, ps
	}
	items, ok := generic.([]any)
	if !ok || len(items) == 0 {
		ps.add("fleets", "must be a non-empty list of fleets, each with at least a name and a runner")
		return nil, ps
	}
	fleets := make([]FleetSettings, 0, len(items))
	for i, item := range items {
		path := fmt.Sprintf("fleets[%d]", i)
		checkKnownKeys(&ps, path, item, reflect.TypeOf(FleetSettings{}))
		encoded, _ := json.Marshal(item) // re-encoding decoded JSON cannot fail
		var fleet FleetSettings
		if err := json.Unmarshal(encoded, &fleet); err != nil {
			var typeErr *json.UnmarshalTypeError
			if errors.As(err, &typeErr) {
				ps.add(path+"."+typeErr.Field, "must be %s, got %s", describeType(typeErr.Type), typeErr.Value)
			} else {
				ps.add(path, "%v", err)
			}
		}
		// Kept even when partly invalid, so later checks find it at its index.
		fleets = append(fleets, fleet)
	}
	return fleets, ps
}

// checkKnownKeys walks a decoded JSON value beside the Go type it decodes
// into and reports keys that no field takes.
func checkKnownKeys(ps *Problems, path string, value any, t reflect.Type) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		object, ok := value.(map[string]any)
		if !ok {
			return // a type mismatch, reported by json.Unmarshal
		}
		fields := jsonFields(t)
		for _, key := range sortedKeys(object) {
			field, ok := fields[key]
			if !ok {
				ps.add(path+"."+key, "unknown setting%s; known settings here: %s", suggestion(key, fields), strings.Join(sortedKeys(fields), ", "))
				continue
			}
			checkKnownKeys(ps, path+"."+key, object[key], field.Type)
		}
	case reflect.Slice:
		list, ok := value.([]any)
		if !ok {
			return
		}
		for i, item := range list {
			checkKnownKeys(ps, fmt.Sprintf("%s[%d]", path, i), item, t.Elem())
		}
	}
}

func jsonFields(t reflect.Type) map[string]reflect.StructField {
	fields := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			fields[name] = f
		}
	}
	return fields
}

// suggestion names the known key closest to a misspelt one, if any is close.
func suggestion(key string, fields map[string]reflect.StructField) string {
	best, bestDistance := "", 3 // suggest only within two edits
	for _, known := range sortedKeys(fields) {
		if d := editDistance(strings.ToLower(key), strings.ToLower(known)); d < bestDistance {
			best, bestDistance = known, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64:
		return "a whole number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

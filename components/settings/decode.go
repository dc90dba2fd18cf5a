package settings

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// Decode decodes a setting object of the stack (JSON, as Pulumi hands
// structured config to programs) into the value into points to. It is the
// one decoder of every setting object (fleets, clusters, apiServer): unlike a
// plain json.Unmarshal it reports every unknown key, with the closest known
// one, so a typo such as `replica: 3` is an error instead of a silently
// ignored setting, and every value of the wrong type, each at its own path
// under path.
func Decode(path, raw string, into any) Problems {
	var ps Problems
	value, err := parseJSON(raw)
	if err != nil {
		ps.Add(path, "is not valid structured config: %v", err)
		return ps
	}
	decodeValue(&ps, path, value, reflect.ValueOf(into).Elem())
	return ps
}

// DecodeFleets decodes the `fleets` stack setting. A fleet is kept even
// when part of it is invalid, so that later checks find it at its index.
func DecodeFleets(raw string) ([]FleetSettings, Problems) {
	var ps Problems
	value, err := parseJSON(raw)
	if err != nil {
		ps.Add("fleets", "is not valid structured config: %v", err)
		return nil, ps
	}
	items, ok := value.([]any)
	if !ok || len(items) == 0 {
		ps.Add("fleets", "must be a non-empty list of fleets, each with at least a name and a runner")
		return nil, ps
	}
	fleets := make([]FleetSettings, len(items))
	for i, item := range items {
		// The name is read first, so that every problem of the fleet names it.
		name, _ := item.(map[string]any)["name"].(string)
		decodeValue(&ps, FleetPath(i, name), item, reflect.ValueOf(&fleets[i]).Elem())
	}
	return fleets, ps
}

// parseJSON reads one JSON value, numbers kept as written.
func parseJSON(raw string) (any, error) {
	decoder := json.NewDecoder(strings.NewReader(raw))
	decoder.UseNumber()
	var value any
	if err := decoder.Decode(&value); err != nil {
		return nil, err
	}
	if _, err := decoder.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("unexpected data after the value")
	}
	return value, nil
}

// decodeValue sets v from a parsed JSON value, walking objects and lists
// itself so that each unknown key and each value of the wrong type is
// reported at its own path; leaves go through encoding/json.
func decodeValue(ps *Problems, path string, value any, v reflect.Value) {
	t := v.Type()
	if value == nil {
		return // null: the setting is left unset
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		decodeValue(ps, path, value, v.Elem())
	case reflect.Struct:
		object, ok := value.(map[string]any)
		if !ok {
			ps.Add(path, "must be %s, got %s", describeType(t), jsonKind(value))
			return
		}
		fields := Fields(t)
		for _, key := range slices.Sorted(maps.Keys(object)) {
			field, ok := fields[key]
			if !ok {
				ps.Add(path+"."+key, "unknown setting%s; known settings here: %s", suggestion(key, fields), strings.Join(slices.Sorted(maps.Keys(fields)), ", "))
				continue
			}
			decodeValue(ps, path+"."+key, object[key], v.FieldByIndex(field.Index))
		}
	case reflect.Slice:
		list, ok := value.([]any)
		if !ok {
			ps.Add(path, "must be %s, got %s", describeType(t), jsonKind(value))
			return
		}
		out := reflect.MakeSlice(t, len(list), len(list))
		for i, item := range list {
			decodeValue(ps, fmt.Sprintf("%s[%d]", path, i), item, out.Index(i))
		}
		v.Set(out)
	case reflect.Map:
		object, ok := value.(map[string]any)
		if !ok {
			ps.Add(path, "must be %s, got %s", describeType(t), jsonKind(value))
			return
		}
		out := reflect.MakeMapWithSize(t, len(object))
		for _, key := range slices.Sorted(maps.Keys(object)) {
			item := reflect.New(t.Elem()).Elem()
			decodeValue(ps, path+"."+key, object[key], item)
			out.SetMapIndex(reflect.ValueOf(key), item)
		}
		v.Set(out)
	default:
		encoded, _ := json.Marshal(value) // re-encoding parsed JSON cannot fail
		decoder := json.NewDecoder(bytes.NewReader(encoded))
		if err := decoder.Decode(v.Addr().Interface()); err != nil {
			ps.Add(path, "must be %s, got %s", describeType(t), jsonKind(value))
		}
	}
}

// Fields are the settings a setting object of struct type t takes, by
// key (the field's JSON name), and the fields they decode into: the
// decoder's own list, which anything describing the settings (the
// component provider's schema) reads too.
func Fields(t reflect.Type) map[string]reflect.StructField {
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
	for _, known := range slices.Sorted(maps.Keys(fields)) {
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

// describeType says what a setting of type t must be.
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
	case reflect.Map:
		return "an object mapping names to " + describeType(t.Elem())
	case reflect.Struct:
		return "an object with the settings " + strings.Join(slices.Sorted(maps.Keys(Fields(t))), ", ")
	}
	return t.String()
}

// jsonKind names the kind of a parsed JSON value as encoding/json does.
func jsonKind(value any) string {
	switch value.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "bool"
	}
	return fmt.Sprintf("%T", value)
}

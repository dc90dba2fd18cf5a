package gitlabprovider

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Helpers to read property values. Values may arrive wrapped as secrets (the
// provider accepts secrets), so readers unwrap them first with plain.

// plain strips secret markers, recursively.
func plain(v resource.PropertyValue) resource.PropertyValue {
	switch {
	case v.IsSecret():
		return plain(v.SecretValue().Element)
	case v.IsArray():
		arr := v.ArrayValue()
		out := make([]resource.PropertyValue, len(arr))
		for i, e := range arr {
			out[i] = plain(e)
		}
		return resource.NewArrayProperty(out)
	case v.IsObject():
		out := resource.PropertyMap{}
		for k, e := range v.ObjectValue() {
			out[k] = plain(e)
		}
		return resource.NewObjectProperty(out)
	}
	return v
}

// isUnknown reports whether v (or, for a secret, its content) is not known
// yet (a preview before the value is computed).
func isUnknown(v resource.PropertyValue) bool {
	return v.ContainsUnknowns()
}

func asString(v resource.PropertyValue) (string, error) {
	v = plain(v)
	if !v.IsString() {
		return "", errors.New("must be a string")
	}
	return v.StringValue(), nil
}

// asBool reads a Boolean; lenient also accepts "true"/"false" strings, the
// way Pulumi passes provider configuration.
func asBool(v resource.PropertyValue, lenient bool) (bool, error) {
	v = plain(v)
	if v.IsBool() {
		return v.BoolValue(), nil
	}
	if lenient && v.IsString() {
		if b, err := strconv.ParseBool(strings.TrimSpace(v.StringValue())); err == nil {
			return b, nil
		}
	}
	return false, errors.New("must be a boolean")
}

// asInt reads a whole number; lenient also accepts numeric strings.
func asInt(v resource.PropertyValue, lenient bool) (int64, error) {
	v = plain(v)
	switch {
	case v.IsNumber():
		f := v.NumberValue()
		if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return 0, errors.New("must be a whole number")
		}
		return int64(f), nil
	case lenient && v.IsString():
		if n, err := strconv.ParseInt(strings.TrimSpace(v.StringValue()), 10, 64); err == nil {
			return n, nil
		}
	}
	return 0, errors.New("must be an integer")
}

func asStringList(v resource.PropertyValue) ([]string, error) {
	v = plain(v)
	if !v.IsArray() {
		return nil, errors.New("must be a list of strings")
	}
	out := []string{}
	for i, e := range v.ArrayValue() {
		if !e.IsString() {
			return nil, fmt.Errorf("element %d must be a string", i)
		}
		out = append(out, e.StringValue())
	}
	return out, nil
}

// asStringMap reads a map of strings; lenient also accepts its JSON text
// (how SDKs pass object-valued provider configuration).
func asStringMap(v resource.PropertyValue, lenient bool) (map[string]string, error) {
	v = plain(v)
	if lenient && v.IsString() {
		m := map[string]string{}
		if err := json.Unmarshal([]byte(v.StringValue()), &m); err != nil {
			return nil, errors.New("must be a map of strings (or its JSON)")
		}
		return m, nil
	}
	if !v.IsObject() {
		return nil, errors.New("must be a map of strings")
	}
	m := map[string]string{}
	for k, e := range v.ObjectValue() {
		if !e.IsString() {
			return nil, fmt.Errorf("value of %q must be a string", k)
		}
		m[string(k)] = e.StringValue()
	}
	return m, nil
}

// sameStringSet compares tag lists as sets: GitLab does not keep their order.
func sameStringSet(a, b []string) bool {
	set := map[string]int{}
	for _, s := range a {
		set[s] |= 1
	}
	for _, s := range b {
		set[s] |= 2
	}
	for _, v := range set {
		if v != 3 {
			return false
		}
	}
	return true
}

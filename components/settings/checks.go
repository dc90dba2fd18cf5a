package settings

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

func checkEnum(ps *Problems, path, value string, allowed []string) {
	if !slices.Contains(allowed, value) {
		ps.Add(path, "%q is not allowed: use one of %s", value, strings.Join(allowed, ", "))
	}
}

func checkRange(ps *Problems, path string, value, lo, hi int) {
	if value < lo || value > hi {
		ps.Add(path, "must be between %d and %d, got %d", lo, hi, value)
	}
}

func checkDNS1035(ps *Problems, path, value string, maxLen int) {
	for _, msg := range validation.IsDNS1035Label(value) {
		ps.Add(path, "%q: %s", value, msg)
	}
	if len(value) > maxLen {
		ps.Add(path, "%q is %d characters; at most %d leave room for the suffixes of generated object names", value, len(value), maxLen)
	}
}

func checkDNS1123(ps *Problems, path, value string) {
	for _, msg := range validation.IsDNS1123Label(value) {
		ps.Add(path, "%q: %s", value, msg)
	}
}

func checkDNS1123Subdomain(ps *Problems, path, value string) {
	for _, msg := range validation.IsDNS1123Subdomain(value) {
		ps.Add(path, "%q: %s", value, msg)
	}
}

func checkLabels(ps *Problems, path string, labels map[string]string) {
	for _, key := range slices.Sorted(maps.Keys(labels)) {
		for _, msg := range validation.IsQualifiedName(key) {
			ps.Add(path, "key %q: %s", key, msg)
		}
		for _, msg := range validation.IsValidLabelValue(labels[key]) {
			ps.Add(path, "value of %q: %s", key, msg)
		}
	}
}

func checkAnnotations(ps *Problems, path string, annotations map[string]string) {
	for _, key := range slices.Sorted(maps.Keys(annotations)) {
		for _, msg := range validation.IsQualifiedName(key) {
			ps.Add(path, "key %q: %s", key, msg)
		}
	}
}

func checkTolerations(ps *Problems, path string, tolerations []Toleration) {
	for i, t := range tolerations {
		at := fmt.Sprintf("%s[%d]", path, i)
		if t.Key == "" {
			ps.Add(at+".key", "is required")
		} else {
			for _, msg := range validation.IsQualifiedName(t.Key) {
				ps.Add(at+".key", "%q: %s", t.Key, msg)
			}
		}
		switch t.Operator {
		case "", "Equal":
		case "Exists":
			if t.Value != "" {
				ps.Add(at+".value", "must be empty with operator Exists")
			}
		default:
			ps.Add(at+".operator", "%q is not allowed: use Equal or Exists", t.Operator)
		}
		if !slices.Contains(taintEffects, t.Effect) {
			ps.Add(at+".effect", "%q is not allowed: use NoSchedule, PreferNoSchedule, NoExecute, or leave it empty for all", t.Effect)
		}
	}
}

// parseQuantity checks a Kubernetes quantity; empty means unset.
func parseQuantity(ps *Problems, path, value string) *resource.Quantity {
	if value == "" {
		return nil
	}
	q, err := resource.ParseQuantity(value)
	if err != nil {
		ps.Add(path, "%q is not a Kubernetes quantity (e.g. \"500m\", \"2\", \"512Mi\", \"1Gi\")", value)
		return nil
	}
	if q.Sign() <= 0 {
		ps.Add(path, "must be positive, got %q", value)
		return nil
	}
	return &q
}

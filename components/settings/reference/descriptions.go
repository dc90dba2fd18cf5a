package reference

import (
	_ "embed"
	"encoding/json"
	"maps"
	"slices"
)

// DescriptionsFile is where the settings types' doc comments are committed,
// from the repository root, for programs that describe the settings without
// their source at hand: the component provider's schema embeds them.
const DescriptionsFile = "components/settings/reference/descriptions.json"

//go:embed descriptions.json
var descriptionsJSON []byte

// Descriptions are the committed doc comments of the settings types, on one
// line each: "FleetSettings" for a type, "FleetSettings.Replicas" for a
// field (by its Go name).
func Descriptions() (map[string]string, error) {
	out := map[string]string{}
	return out, json.Unmarshal(descriptionsJSON, &out)
}

// DescriptionsJSON is what DescriptionsFile holds for today's source.
func (m *Model) DescriptionsJSON() ([]byte, error) {
	out := map[string]string{}
	for _, typ := range slices.Sorted(maps.Keys(m.docs.types)) {
		if text := m.docs.types[typ]; text != "" {
			out[typ] = text
		}
		for field, text := range m.docs.fields[typ] {
			if text != "" {
				out[typ+"."+field] = text
			}
		}
	}
	data, err := json.MarshalIndent(out, "", "  ")
	return append(data, '\n'), err
}

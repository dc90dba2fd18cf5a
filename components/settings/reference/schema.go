package reference

import (
	"bytes"
	"encoding/json"
)

// SchemaFile is where the JSON Schema is committed, from the repository root.
const SchemaFile = "docs/reference/gitlab-runner-fleet.schema.json"

// Schema is a JSON Schema (draft 2020-12) of a stack file, Pulumi.<stack>.yaml,
// for editors: completion, descriptions and checks of the program's
// settings, under their full keys (gitlab-runner-fleet:fleets) and their
// short ones (fleets, which Pulumi reads as the project's). Other keys
// (gitlab:*, kubernetes:*, the secret settings fleets name) are left to
// their owners.
//
// It is as strict as the decoder: unknown keys and values of the wrong type
// are refused, and allowed values and required keys are those of the Go
// types. It is stricter in one way: an empty value (null), which the
// decoder reads as a setting left out, is refused: in a stack file it is
// nearly always a key whose value was forgotten. What Validate checks beyond
// the types (ranges, names, settings that go together) is the program's.
func (m *Model) Schema() ([]byte, error) {
	defs := map[string]any{}
	config := map[string]any{}
	for _, s := range m.Stack {
		def := schemaOf(s)
		if s.Key == "fleets" {
			def["minItems"] = 1 // settings.DecodeFleets refuses an empty list
		}
		defs[s.Key] = def
		ref := map[string]any{"$ref": "#/$defs/" + s.Key}
		config[Project+":"+s.Key] = ref
		config[s.Key] = ref
	}
	schema := map[string]any{
		"$schema":     "https://json-schema.org/draft/2020-12/schema",
		"title":       "Pulumi.<stack>.yaml of " + Project,
		"description": "A stack file of " + Project + ". Generated from the settings' Go types by package components/settings/reference; see docs/reference/settings.md.",
		"type":        "object",
		"properties": map[string]any{
			"config": map[string]any{
				"type":        "object",
				"description": "The stack's settings.",
				"properties":  config,
			},
			"secretsprovider": map[string]any{"type": "string", "description": "The stack's secrets provider."},
			"encryptedkey":    map[string]any{"type": "string", "description": "The data key, encrypted by the secrets provider."},
			"encryptionsalt":  map[string]any{"type": "string", "description": "The passphrase secrets provider's salt."},
		},
		"$defs": defs,
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(schema); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func schemaOf(s *Setting) map[string]any {
	out := map[string]any{}
	description := s.Description
	if description == "" {
		description = s.TypeDescription
	}
	if description != "" {
		out["description"] = description
	}
	switch s.Kind {
	case Object:
		out["type"] = "object"
		properties := map[string]any{}
		var required []string
		for _, f := range s.Fields {
			properties[f.Key] = schemaOf(f)
			if f.Required {
				required = append(required, f.Key)
			}
		}
		out["properties"] = properties
		out["additionalProperties"] = false
		if len(required) > 0 {
			out["required"] = required
		}
	case List:
		out["type"] = "array"
		out["items"] = schemaOf(s.Item)
	case Map:
		out["type"] = "object"
		out["additionalProperties"] = schemaOf(s.Item)
	default:
		out["type"] = string(s.Kind)
	}
	if len(s.Enum) > 0 {
		out["enum"] = s.Enum
	}
	if s.Default != nil {
		out["default"] = s.Default
	}
	return out
}

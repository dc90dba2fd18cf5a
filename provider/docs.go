package provider

import (
	_ "embed"
	"encoding/json"
	"reflect"
	"strings"
)

// The descriptions in the schema are the doc comments of the settings
// types, read from their source by `go generate` (settingsdocs.json);
// TestSettingsDocsAreCurrent fails when the source has changed since.
//
//go:generate go run ./internal/settingsdocs/gen

//go:embed settingsdocs.json
var settingsDocsJSON []byte

var settingsDocs = func() map[string]string {
	docs := map[string]string{}
	if err := json.Unmarshal(settingsDocsJSON, &docs); err != nil {
		panic("provider: settingsdocs.json: " + err.Error())
	}
	return docs
}()

// fieldDoc is the doc comment of a field of a settings type, naming the
// setting by its key where it names the Go field.
func fieldDoc(t reflect.Type, field, key string) string {
	text := settingsDocs[t.Name()+"."+field]
	if rest, ok := strings.CutPrefix(text, field+" "); ok {
		return key + " " + rest
	}
	return text
}

// typeDoc is the doc comment of a settings type.
func typeDoc(t reflect.Type) string { return settingsDocs[t.Name()] }

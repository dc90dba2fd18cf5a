package provider

import (
	"reflect"
	"strings"

	"github.com/glrf/gitlab-runner-fleet/components/settings/reference"
)

// The descriptions in the schema are the doc comments of the settings
// types, the same text the settings reference shows: package reference
// commits them (descriptions.json) and its test fails when they are stale.
var settingsDocs = func() map[string]string {
	docs, err := reference.Descriptions()
	if err != nil {
		panic("provider: the settings' descriptions: " + err.Error())
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

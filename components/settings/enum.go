package settings

import (
	"fmt"
	"reflect"
	"strings"
)

// enumOf is the values a setting may take: the comma-separated `enum` tag of
// the field named field of T (a value of a list setting is checked item by
// item). The tag is the one list of a setting's allowed values: Validate
// checks against it, and the settings reference and JSON Schema (package
// reference) show it. A missing tag is a programming error, found as soon as
// the package loads.
func enumOf[T any](field string) []string {
	f, ok := reflect.TypeFor[T]().FieldByName(field)
	tag, tagged := f.Tag.Lookup("enum")
	if !ok || !tagged {
		panic(fmt.Sprintf("settings: %s.%s has no enum tag", reflect.TypeFor[T]().Name(), field))
	}
	return strings.Split(tag, ",")
}

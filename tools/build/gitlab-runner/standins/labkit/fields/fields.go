// Package fields is the stand-in for labkit's standard log field names: the
// names the runner's code uses, and empty migration tables.
package fields

// Log field names, with labkit's values (labkit's field standard: "status"
// for HTTP status codes, "duration_s" for durations in seconds).
const (
	HTTPStatusCode = "status"
	DurationS      = "duration_s"
)

// DeprecatedField says which standard name replaces a legacy one.
type DeprecatedField struct {
	Standard string
}

// Deprecated maps legacy field names to their replacements. Empty: with the
// real table and log_field_schema_version unset (0, the default), the runner
// logs every field under its legacy name, which is what an empty table gives
// for every setting.
var Deprecated = map[string]DeprecatedField{}

// VariantVersion maps standard names to the schema version that introduced
// them. Empty, for the same reason as Deprecated.
var VariantVersion = map[string]int{}

// Package reference describes the stack settings for people and editors:
// the settings reference (docs/reference/settings.md) and a JSON Schema of
// the stack file (docs/reference/gitlab-runner-fleet.schema.json), both
// generated from the types the settings decoder fills
// (settings.FleetSettings, settings.ClusterSetting, ...), so that neither can
// drift from what the program reads: a test fails when the committed files
// differ from what Generate writes now.
//
// Everything comes from the settings package itself:
//
//   - the keys, their types and nesting: the Go types and their json tags,
//     walked as the decoder walks them (a key without omitempty is required);
//   - the descriptions: the types' and fields' doc comments, read from the
//     package's source with go/ast. They are written once, for Go readers
//     (go doc shows them) and for users alike; keeping them in struct tags
//     instead would either duplicate them or hide them from go doc;
//   - the allowed values: the fields' enum tags, the very lists Validate
//     checks against;
//   - the defaults: what settings.FleetSettings.WithDefaults fills in, found
//     by running it on a few fleets that differ in what defaults depend on
//     (see probes); a default that depends on other settings is left to the
//     description, which says what it depends on.
//
// The top-level keys and their descriptions are those Pulumi.yaml declares
// under config (stackSettings maps each to its Go type).
//
// Regenerate with `go generate ./components/settings/reference`.
package reference

//go:generate go run ../../../cmd/settingsref -root ../../..

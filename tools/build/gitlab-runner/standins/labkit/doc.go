// Package labkit is a compile-only stand-in for gitlab.com/gitlab-org/labkit/v2
// v2.29.2, which the Go proxy refuses.
//
// The runner uses two parts of it:
//
//   - fields: log field names. The stand-in declares the two names the
//     runner's code uses (with labkit's values) and no field migrations, which
//     is what the real tables give with log_field_schema_version unset (0):
//     every field is logged under its legacy name.
//   - events/snowplow: the snowplow_billing usage-log writer (usage billing).
//     Every call fails with a refusal.Error, returned or panicked; the
//     writer's options are built first and panic, so a manager configured
//     with that writer stops when it loads the config, naming this stand-in.
//
// A Kubernetes-executor manager with this project's configs never reaches
// events/snowplow: commands/multi.go creates the writer only for a
// [usage_logger] with a snowplow_billing writer, which the fleet never renders.
package labkit

// Package settings holds what a user writes in a stack file: the settings
// of each runner fleet (gitlab-runner-fleet:fleets) and of the clusters it
// runs in, as plain Go values.
//
// It owns, for every setting object of the stack:
//
//   - the one strict decoder (Decode, DecodeFleets, DecodeClusters): every
//     unknown key and every value of the wrong type is a Problem at its path;
//   - the defaults (FleetSettings.WithDefaults);
//   - every check of the settings themselves (FleetSettings.Validate), each
//     a Problem naming the setting and the fix, all reported at once;
//   - the plan across fleets (PlanFleets): which fleet creates which
//     namespace, who may share a job namespace (JobNamespacePlan), and the
//     job quota they share;
//   - what fleets take from outside the stack (ConfigValues, References).
//
// A capability (the cache, GitLab's CA, registries, volumes, network,
// quota, job policy, monitoring, rotation...) keeps its settings type and
// its checks in a file of its own here. What the runner reads, rendered from
// these settings, is package runnerconfig's; the Kubernetes objects are
// package fleet's; package plan composes the checks of both.
//
// This package imports no Pulumi package, nor runnerconfig or fleet.
package settings

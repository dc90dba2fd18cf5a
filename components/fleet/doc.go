// Package fleet is the RunnerFleet component resource: one GitLab runner
// and the Kubernetes objects that run its managers.
//
// NewRunnerFleet registers the runner and its token (token.go), the core
// objects (namespaces, ServiceAccount, the Role of rbac.go and its binding),
// then every capability (capability.go) and the workload they contribute to
// (the ConfigMaps with the rendered configuration and the entrypoint, the
// headless Service, the StatefulSet of workload.go and its
// PodDisruptionBudget).
//
// A capability is one file here: cache.go, ca.go, registry.go,
// jobserviceaccount.go, monitoring.go, admission.go, network.go,
// jobnamespace.go. Each registers its own objects when the fleet's settings
// ask for it and adds its part of the manager pod (variables, volumes and
// their mounts, pull Secrets) through one small interface, so a new
// capability edits no central file. Its settings and checks live in package
// settings, the keys it renders in package runnerconfig.
//
// The component takes settings already decoded, defaulted and checked
// (package plan).
package fleet

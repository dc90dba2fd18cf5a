package runnerconfig

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"github.com/BurntSushi/toml"
	"k8s.io/utils/ptr"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// RenderGlobalConfig encodes config.toml's global settings.
func RenderGlobalConfig(s settings.FleetSettings) (string, error) {
	return encodeTOML(Global(s))
}

// Global is config.toml's global settings.
func Global(s settings.FleetSettings) GlobalConfig {
	m := s.Manager
	var session *SessionServerConfig
	if ss := m.Pod.SessionServer; ss != nil {
		session = &SessionServerConfig{
			ListenAddress:    fmt.Sprintf("[::]:%d", ss.Port),
			AdvertiseAddress: ss.AdvertisedAddress(s.Name, s.Namespace),
			SessionTimeout:   ss.SessionTimeout,
		}
	}
	return GlobalConfig{
		Concurrent:      m.Concurrent,
		CheckInterval:   m.CheckInterval,
		LogLevel:        m.LogLevel,
		LogFormat:       m.LogFormat,
		ListenAddress:   fmt.Sprintf(":%d", settings.MetricsPort),
		ShutdownTimeout: m.ShutdownTimeout,
		SessionServer:   session,
	}
}

// RenderRunnerTemplate encodes the fleet's [[runners]] template: Runner,
// with executor.extraConfig merged in.
func RenderRunnerTemplate(s settings.FleetSettings) (string, error) {
	r := Runner(s)
	if s.Executor.ExtraConfig == "" {
		return encodeTOML(RunnerTemplate{Runners: []RunnerConfig{r}})
	}
	extra, err := parseExtraConfig(s.Executor.ExtraConfig)
	if err != nil {
		return "", fmt.Errorf("executor.extraConfig: %w", err)
	}
	return mergeExtraConfig(r, extra)
}

// A part renders one capability's keys into the fleet's [[runners]] entry.
// Each capability's file adds its part (addPart, from an init function), so
// a new capability edits no central file; parts must not depend on each
// other's keys.
type part func(r *RunnerConfig, s settings.FleetSettings)

// parts are the capabilities' parts by name.
var parts = map[string]part{}

// addPart adds a capability's part; Runner applies them in name order.
func addPart(name string, p part) {
	if _, dup := parts[name]; dup {
		panic("runnerconfig: two parts named " + name)
	}
	parts[name] = p
}

// Runner is the fleet's [[runners]] entry for the release its managers run
// (some keys depend on it): the executor's own keys, then each capability's
// part, then the job pods' security contexts, which secure whatever the
// parts rendered.
func Runner(s settings.FleetSettings) RunnerConfig {
	e := s.Executor
	k := KubernetesConfig{
		Namespace:  s.JobNamespace,
		Image:      e.Image,
		Privileged: e.Privileged,
		PullPolicy: e.PullPolicy,
		// Without this a job may ask for if-not-present and run another
		// project's private image cached on the node.
		AllowedPullPolicies: e.PullPolicy,
		PollInterval:        e.PollInterval,
		PollTimeout:         e.PollTimeout,
		ServiceAccount:      e.ServiceAccount,
		// A job gets an API token only from a ServiceAccount chosen for jobs
		// on purpose; the namespace's default one never mounts into jobs.
		AutomountServiceAccountToken: ptr.To(e.ServiceAccount != ""),

		CPURequest:           e.Build.CPURequest,
		CPULimit:             e.Build.CPULimit,
		MemoryRequest:        e.Build.MemoryRequest,
		MemoryLimit:          e.Build.MemoryLimit,
		ServiceCPURequest:    e.Service.CPURequest,
		ServiceCPULimit:      e.Service.CPULimit,
		ServiceMemoryRequest: e.Service.MemoryRequest,
		ServiceMemoryLimit:   e.Service.MemoryLimit,
		HelperCPURequest:     e.Helper.CPURequest,
		HelperCPULimit:       e.Helper.CPULimit,
		HelperMemoryRequest:  e.Helper.MemoryRequest,
		HelperMemoryLimit:    e.Helper.MemoryLimit,

		EphemeralStorageRequest:        e.Build.EphemeralStorageRequest,
		EphemeralStorageLimit:          e.Build.EphemeralStorageLimit,
		ServiceEphemeralStorageRequest: e.Service.EphemeralStorageRequest,
		ServiceEphemeralStorageLimit:   e.Service.EphemeralStorageLimit,
		HelperEphemeralStorageRequest:  e.Helper.EphemeralStorageRequest,
		HelperEphemeralStorageLimit:    e.Helper.EphemeralStorageLimit,

		NodeSelector:    e.NodeSelector,
		NodeTolerations: runnerTolerations(e.Tolerations),
		PodLabels:       e.PodLabels,
		PodAnnotations:  e.PodAnnotations,

		PodTerminationGracePeriodSeconds: e.PodTerminationGracePeriodSeconds,
		CleanupGracePeriodSeconds:        e.CleanupGracePeriodSeconds,
		PrintPodWarningEvents:            e.PrintPodWarningEvents,
		PodDisruptionBudget:              e.PodDisruptionBudget,
		RetryLimits:                      map[string]int{quotaRefusal: quotaRetries(e)},
	}
	r := RunnerConfig{Executor: "kubernetes", Kubernetes: k, FeatureFlags: renderedFlags(s)}
	for _, name := range slices.Sorted(maps.Keys(parts)) {
		parts[name](&r, s)
	}
	applyJobSecurity(&r.Kubernetes, r.FeatureFlags, e, s.RunnerVersion())
	return r
}

// runnerTolerations converts tolerations to the runner's table form:
// "key=value" (operator Equal) or "key" (operator Exists) mapped to the effect.
func runnerTolerations(tolerations []settings.Toleration) map[string]string {
	if len(tolerations) == 0 {
		return nil
	}
	out := make(map[string]string, len(tolerations))
	for _, t := range tolerations {
		key := t.Key
		if t.Operator != "Exists" {
			key += "=" + t.Value
		}
		out[key] = t.Effect
	}
	return out
}

func encodeTOML(v any) (string, error) {
	var buf bytes.Buffer
	if err := toml.NewEncoder(&buf).Encode(v); err != nil {
		return "", fmt.Errorf("encoding runner configuration: %w", err)
	}
	return buf.String(), nil
}

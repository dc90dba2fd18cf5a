package components

import (
	"bytes"
	"fmt"

	"github.com/BurntSushi/toml"
)

// The runner configuration, as two TOML documents encoded from typed structs
// whose tags are GitLab Runner's own config.toml key names (common/config.go):
//
//   - config.toml holds the global settings; the entrypoint copies it into the
//     config directory.
//   - runner-template.toml holds one [[runners]] entry; `gitlab-runner register
//     --template-config` merges it when it verifies the token and appends the
//     runner (with its URL, token and system id) to config.toml.
//
// Neither document holds the token: it reaches the pod only through the Secret.

// GlobalConfig is config.toml's top level.
type GlobalConfig struct {
	Concurrent      int    `toml:"concurrent"`
	CheckInterval   int    `toml:"check_interval"`
	LogLevel        string `toml:"log_level"`
	LogFormat       string `toml:"log_format"`
	ListenAddress   string `toml:"listen_address"`
	ShutdownTimeout int    `toml:"shutdown_timeout"`
}

// RunnerTemplate is the template given to `register --template-config`.
type RunnerTemplate struct {
	Runners []RunnerConfig `toml:"runners"`
}

// RunnerConfig is one [[runners]] entry.
type RunnerConfig struct {
	Executor     string           `toml:"executor"`
	Kubernetes   KubernetesConfig `toml:"kubernetes"`
	FeatureFlags map[string]bool  `toml:"feature_flags,omitempty"`
}

// KubernetesConfig is [runners.kubernetes].
type KubernetesConfig struct {
	Namespace      string   `toml:"namespace"`
	Image          string   `toml:"image"`
	Privileged     bool     `toml:"privileged"`
	PullPolicy     []string `toml:"pull_policy"`
	PollInterval   int      `toml:"poll_interval"`
	PollTimeout    int      `toml:"poll_timeout"`
	ServiceAccount string   `toml:"service_account,omitempty"`

	CPURequest           string `toml:"cpu_request,omitempty"`
	CPULimit             string `toml:"cpu_limit,omitempty"`
	MemoryRequest        string `toml:"memory_request,omitempty"`
	MemoryLimit          string `toml:"memory_limit,omitempty"`
	ServiceCPURequest    string `toml:"service_cpu_request,omitempty"`
	ServiceCPULimit      string `toml:"service_cpu_limit,omitempty"`
	ServiceMemoryRequest string `toml:"service_memory_request,omitempty"`
	ServiceMemoryLimit   string `toml:"service_memory_limit,omitempty"`
	HelperCPURequest     string `toml:"helper_cpu_request,omitempty"`
	HelperCPULimit       string `toml:"helper_cpu_limit,omitempty"`
	HelperMemoryRequest  string `toml:"helper_memory_request,omitempty"`
	HelperMemoryLimit    string `toml:"helper_memory_limit,omitempty"`

	NodeSelector    map[string]string `toml:"node_selector,omitempty"`
	NodeTolerations map[string]string `toml:"node_tolerations,omitempty"`
	PodLabels       map[string]string `toml:"pod_labels,omitempty"`
	PodAnnotations  map[string]string `toml:"pod_annotations,omitempty"`

	PodTerminationGracePeriodSeconds *int  `toml:"pod_termination_grace_period_seconds,omitempty"`
	CleanupGracePeriodSeconds        *int  `toml:"cleanup_grace_period_seconds,omitempty"`
	PrintPodWarningEvents            *bool `toml:"print_pod_warning_events,omitempty"`
	PodDisruptionBudget              bool  `toml:"pod_disruption_budget,omitempty"`
}

// RenderGlobalConfig encodes config.toml's global settings.
func RenderGlobalConfig(m ManagerSettings) (string, error) {
	return encodeTOML(GlobalConfig{
		Concurrent:      m.Concurrent,
		CheckInterval:   m.CheckInterval,
		LogLevel:        m.LogLevel,
		LogFormat:       m.LogFormat,
		ListenAddress:   fmt.Sprintf(":%d", MetricsPort),
		ShutdownTimeout: m.ShutdownTimeout,
	})
}

// RenderRunnerTemplate encodes the [[runners]] template for jobs in jobNamespace.
func RenderRunnerTemplate(e ExecutorSettings, jobNamespace string) (string, error) {
	k := KubernetesConfig{
		Namespace:      jobNamespace,
		Image:          e.Image,
		Privileged:     e.Privileged,
		PullPolicy:     e.PullPolicy,
		PollInterval:   e.PollInterval,
		PollTimeout:    e.PollTimeout,
		ServiceAccount: e.ServiceAccount,

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

		NodeSelector:    e.NodeSelector,
		NodeTolerations: runnerTolerations(e.Tolerations),
		PodLabels:       e.PodLabels,
		PodAnnotations:  e.PodAnnotations,

		PodTerminationGracePeriodSeconds: e.PodTerminationGracePeriodSeconds,
		CleanupGracePeriodSeconds:        e.CleanupGracePeriodSeconds,
		PrintPodWarningEvents:            e.PrintPodWarningEvents,
		PodDisruptionBudget:              e.PodDisruptionBudget,
	}
	return encodeTOML(RunnerTemplate{Runners: []RunnerConfig{{
		Executor:     "kubernetes",
		Kubernetes:   k,
		FeatureFlags: e.FeatureFlags,
	}}})
}

// runnerTolerations converts tolerations to the runner's table form:
// "key=value" (operator Equal) or "key" (operator Exists) mapped to the effect.
func runnerTolerations(tolerations []Toleration) map[string]string {
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

package settings

import (
	"cmp"

	"k8s.io/utils/ptr"
)

// Defaults for everything optional.
const (
	DefaultManagerImage      = "registry.gitlab.com/gitlab-org/gitlab-runner:alpine-v19.3.0"
	DefaultJobImage          = "alpine:3.22"
	DefaultReplicas          = 2
	DefaultConcurrent        = 10
	DefaultCheckInterval     = 3
	DefaultShutdownTimeout   = 30
	DefaultGracePeriod       = 3600
	DefaultPollInterval      = 3
	DefaultPollTimeout       = 180
	DefaultRunAsUser         = 100   // gitlab-runner user of the alpine image
	DefaultRunAsGroup        = 65533 // its nogroup, as the official chart uses
	MetricsPort              = 9252
	defaultJobNamespaceExtra = "-jobs"
	// DefaultTokenKey is the key of the runner token in its Secret.
	DefaultTokenKey = "runner-token"
)

// WithDefaults returns a copy of s with every unset optional setting filled in.
// stack names the Pulumi stack, used in the runner's default description.
func (s FleetSettings) WithDefaults(stack string) FleetSettings {
	out := s
	if out.Namespace == "" {
		out.Namespace = "gitlab-runner-" + out.Name
	}
	if out.JobNamespace == "" {
		out.JobNamespace = out.Namespace + defaultJobNamespaceExtra
	}
	out.CreateNamespace = defaultBool(out.CreateNamespace, true)
	out.CreateJobNamespace = defaultBool(out.CreateJobNamespace, true)

	r := &out.Runner
	if out.ManagesRunner() {
		if r.Description == "" {
			r.Description = out.Name + " (" + stack + ")"
		}
		if r.AccessLevel == "" {
			r.AccessLevel = "not_protected"
		}
		r.Untagged = defaultBool(r.Untagged, len(r.Tags) == 0)
	}

	m := &out.Manager
	m.Image = cmp.Or(m.Image, DefaultManagerImage)
	if m.Replicas == nil {
		m.Replicas = ptr.To(DefaultReplicas)
	}
	m.AntiAffinity = cmp.Or(m.AntiAffinity, "preferred")
	m.Concurrent = cmp.Or(m.Concurrent, DefaultConcurrent)
	m.CheckInterval = cmp.Or(m.CheckInterval, DefaultCheckInterval)
	m.LogLevel = cmp.Or(m.LogLevel, "info")
	m.LogFormat = cmp.Or(m.LogFormat, "json")
	m.ShutdownTimeout = cmp.Or(m.ShutdownTimeout, DefaultShutdownTimeout)
	m.TerminationGracePeriodSeconds = cmp.Or(m.TerminationGracePeriodSeconds,
		max(DefaultGracePeriod, r.MaximumTimeout)+m.ShutdownTimeout+StopMargin)
	m.Resources = m.Resources.withDefaults(ContainerResources{CPURequest: "100m", MemoryRequest: "128Mi", MemoryLimit: "256Mi"})
	if m.RunAsUser == nil {
		m.RunAsUser = ptr.To(int64(DefaultRunAsUser))
	}
	if m.RunAsGroup == nil {
		m.RunAsGroup = ptr.To(int64(DefaultRunAsGroup))
	}
	if m.FSGroup == nil {
		m.FSGroup = ptr.To(int64(DefaultRunAsGroup))
	}

	e := &out.Executor
	e.Image = cmp.Or(e.Image, DefaultJobImage)
	if len(e.PullPolicy) == 0 {
		e.PullPolicy = []string{"always"}
		if r.Type == "project_type" {
			e.PullPolicy = []string{"if-not-present"}
		}
	}
	e.PollInterval = cmp.Or(e.PollInterval, DefaultPollInterval)
	e.PollTimeout = cmp.Or(e.PollTimeout, DefaultPollTimeout)
	e.Build = e.Build.withDefaults(ContainerResources{CPURequest: "500m", MemoryRequest: "512Mi", MemoryLimit: "2Gi",
		EphemeralStorageRequest: "1Gi", EphemeralStorageLimit: "20Gi"})
	e.Service = e.Service.withDefaults(ContainerResources{CPURequest: "100m", MemoryRequest: "128Mi", MemoryLimit: "1Gi",
		EphemeralStorageRequest: "256Mi", EphemeralStorageLimit: "5Gi"})
	e.Helper = e.Helper.withDefaults(ContainerResources{CPURequest: "50m", MemoryRequest: "64Mi", MemoryLimit: "256Mi",
		EphemeralStorageRequest: "128Mi", EphemeralStorageLimit: "2Gi"})
	e.UseInformers = defaultBool(e.UseInformers, true)
	if out.RunnerVersion().AtLeast(18, 0) {
		// The key exists from runner 18.0; older runners print no such events.
		e.PrintPodWarningEvents = defaultBool(e.PrintPodWarningEvents, true)
	}
	if e.PodSecurity == "" {
		e.PodSecurity = "baseline"
		if e.Privileged {
			e.PodSecurity = "privileged"
		}
	}
	e.jobSecurityDefaults()
	out.Network = out.Network.withDefaults()
	if out.TokenSecret != nil && out.TokenSecret.Key == "" {
		t := *out.TokenSecret
		t.Key = DefaultTokenKey
		out.TokenSecret = &t
	}
	return out
}

func (c ContainerResources) withDefaults(d ContainerResources) ContainerResources {
	return ContainerResources{
		CPURequest:              cmp.Or(c.CPURequest, d.CPURequest),
		CPULimit:                cmp.Or(c.CPULimit, d.CPULimit),
		MemoryRequest:           cmp.Or(c.MemoryRequest, d.MemoryRequest),
		MemoryLimit:             cmp.Or(c.MemoryLimit, d.MemoryLimit),
		EphemeralStorageRequest: cmp.Or(c.EphemeralStorageRequest, d.EphemeralStorageRequest),
		EphemeralStorageLimit:   cmp.Or(c.EphemeralStorageLimit, d.EphemeralStorageLimit),
	}
}

// defaultBool is v, or d when v is unset.
func defaultBool(v *bool, d bool) *bool { return cmp.Or(v, &d) }

package settings

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/glrf/gitlab-runner-fleet/components/runnerversion"
)

// Name limits: StatefulSet pods add "-<ordinal>" and their controller-revision-hash
// label adds "-<10 chars>" to the fleet name, and both must stay within 63.
const maxFleetNameLength = 40

var (
	// The allowed values are the fields' enum tags (enumOf).
	runnerTypes    = enumOf[RunnerSettings]("Type")
	accessLevels   = enumOf[RunnerSettings]("AccessLevel")
	logLevels      = enumOf[ManagerSettings]("LogLevel")
	logFormats     = enumOf[ManagerSettings]("LogFormat")
	pullPolicies   = enumOf[ExecutorSettings]("PullPolicy")
	antiAffinities = enumOf[ManagerSettings]("AntiAffinity")
	podSecurities  = enumOf[ExecutorSettings]("PodSecurity")
	taintEffects   = enumOf[Toleration]("Effect")
)

// Validate checks a defaulted fleet's settings (see WithDefaults) and
// returns every problem found; path prefixes each problem's location, e.g.
// "fleets[0]". The configuration rendered from them is checked by
// runnerconfig.Check, and both by plan.Check.
func (s FleetSettings) Validate(path string) Problems {
	var ps Problems
	at := func(field string) string { return path + "." + field }

	if s.Name == "" {
		ps.Add(at("name"), "is required: a lowercase DNS label such as \"docker-builds\"")
	} else {
		checkDNS1035(&ps, at("name"), s.Name, maxFleetNameLength)
	}
	checkDNS1123(&ps, at("namespace"), s.Namespace)
	checkDNS1123(&ps, at("jobNamespace"), s.JobNamespace)

	switch {
	case s.TokenConfigKey != "" && s.TokenSecret != nil:
		ps.Add(at("tokenSecret"), "and tokenConfigKey both give an existing token; keep one")
	case s.ManagesRunner():
		s.Runner.validate(&ps, at("runner"))
	default:
		if s.TokenSecret != nil {
			s.TokenSecret.validate(&ps, at("tokenSecret"))
		}
		switch {
		case s.TokenConfigKey == "":
		case looksLikeToken(s.TokenConfigKey):
			// Never echo it: it would land in logs and CI output.
			ps.Add(at("tokenConfigKey"), "holds what looks like a token, not the name of a setting: put the token in a secret setting (`pulumi config set --secret <name> glrt-...`), name that setting here, and revoke the pasted token if this file was shared")
		case !validConfigKey(s.TokenConfigKey):
			ps.Add(at("tokenConfigKey"), "must be a config key name of letters, digits, '-' or '_', got %q", s.TokenConfigKey)
		}
		if s.Runner.Type != "" || len(s.Runner.Tags) > 0 || s.Runner.GroupID != 0 || s.Runner.ProjectID != 0 ||
			s.Runner.Description != "" || s.Runner.MaximumTimeout != 0 || s.Runner.MaintenanceNote != "" ||
			s.Runner.Untagged != nil || s.Runner.Locked || s.Runner.Paused || s.Runner.AccessLevel != "" {
			ps.Add(at("runner"), "must be empty with an existing token (tokenConfigKey or tokenSecret): its runner's settings live in GitLab; remove runner, or the existing token")
		}
	}
	s.Cache.validate(&ps, at("cache"))
	s.GitlabCA.validate(&ps, at("gitlabCA"))
	validateRotation(&ps, at("runner.rotateEvery"), s.Runner.RotateEvery)
	if !s.ManagesRunner() && s.Runner.RotateEvery != "" {
		ps.Add(at("runner.rotateEvery"), "cannot rotate an existing token (tokenConfigKey, tokenSecret): the stack does not own its runner")
	}
	s.Manager.validate(&ps, at("manager"), s.Runner.MaximumTimeout)
	s.Manager.Monitoring.validate(&ps, at("manager.monitoring"), s.Network)
	s.Network.validate(&ps, at("network"))
	s.Executor.validate(&ps, at("executor"))
	s.checkRunnerVersion(&ps, at("manager"))
	return ps
}

// Renderable reports whether the settings the rendered runner configuration
// is built from are valid: the executor's and the runner release. Then the
// configuration can be rendered and checked (runnerconfig.Check) even while
// other settings are wrong, so that every problem is reported at once.
func (s FleetSettings) Renderable() bool {
	var ps Problems
	s.Executor.validate(&ps, "executor")
	_, ok := s.checkRunnerVersion(&ps, "manager")
	return ok && len(ps) == 0
}

// checkRunnerVersion finds the runner release of the managers: from
// manager.runnerVersion, else from the image tag.
func (s FleetSettings) checkRunnerVersion(ps *Problems, path string) (runnerversion.Version, bool) {
	m := s.Manager
	fromTag, tagged := RunnerVersionOfImage(m.Image)
	var version runnerversion.Version
	switch {
	case m.RunnerVersion != "":
		v, ok := runnerversion.Parse(m.RunnerVersion)
		if !ok {
			ps.Add(path+".runnerVersion", "%q is not a GitLab Runner release such as \"v19.3.0\"", m.RunnerVersion)
			return runnerversion.Version{}, false
		}
		if tagged && v != fromTag {
			ps.Add(path+".runnerVersion", "is %s but the image tag says %s; remove runnerVersion or make them agree", v, fromTag)
			return runnerversion.Version{}, false
		}
		version = v
	case tagged:
		version = fromTag
	default:
		ps.Add(path+".runnerVersion", "is required: the tag of %q names no GitLab Runner release (like alpine-v19.3.0), and the fleet must know the release to render only keys it reads; set runnerVersion: v<major>.<minor>.<patch>", m.Image)
		return runnerversion.Version{}, false
	}
	if minimum := runnerversion.Minimum; !version.AtLeast(minimum.Major, minimum.Minor) {
		ps.Add(path+".image", "runs GitLab Runner %s; the fleet needs %d.%d or later (it turns the runner's own token rotation off, which older releases cannot)",
			version, minimum.Major, minimum.Minor)
		return runnerversion.Version{}, false
	}
	return version, true
}

func (r RunnerSettings) validate(ps *Problems, path string) {
	at := func(field string) string { return path + "." + field }
	switch r.Type {
	case "":
		ps.Add(at("type"), "is required: one of %s (or set tokenConfigKey to use an existing token)", strings.Join(runnerTypes, ", "))
	case "instance_type":
		if r.GroupID != 0 || r.ProjectID != 0 {
			ps.Add(path, "instance_type runners take neither groupId nor projectId; remove them or pick group_type/project_type")
		}
	case "group_type":
		if r.GroupID <= 0 {
			ps.Add(at("groupId"), "must be a positive GitLab group id for a group_type runner, got %d", r.GroupID)
		}
		if r.ProjectID != 0 {
			ps.Add(at("projectId"), "must not be set for a group_type runner")
		}
	case "project_type":
		if r.ProjectID <= 0 {
			ps.Add(at("projectId"), "must be a positive GitLab project id for a project_type runner, got %d", r.ProjectID)
		}
		if r.GroupID != 0 {
			ps.Add(at("groupId"), "must not be set for a project_type runner")
		}
	default:
		checkEnum(ps, at("type"), r.Type, runnerTypes)
	}
	checkEnum(ps, at("accessLevel"), r.AccessLevel, accessLevels)
	if r.MaximumTimeout != 0 && r.MaximumTimeout < 600 {
		ps.Add(at("maximumTimeout"), "must be at least 600 seconds (GitLab's minimum), or 0 for no limit; got %d", r.MaximumTimeout)
	}
	if limit := maintenanceNoteLimit(r); len(r.MaintenanceNote) > limit {
		why := ""
		if r.RotateEvery != "" {
			why = " (with rotateEvery the fleet adds a line naming the rotation period)"
		}
		ps.Add(at("maintenanceNote"), "must be at most %d characters, got %d%s", limit, len(r.MaintenanceNote), why)
	}
	seen := map[string]bool{}
	for i, tag := range r.Tags {
		switch {
		case strings.TrimSpace(tag) == "":
			ps.Add(fmt.Sprintf("%s[%d]", at("tags"), i), "must not be empty")
		case strings.Contains(tag, ","):
			ps.Add(fmt.Sprintf("%s[%d]", at("tags"), i), "must not contain ',' (GitLab splits tags on commas), got %q", tag)
		case seen[tag]:
			ps.Add(fmt.Sprintf("%s[%d]", at("tags"), i), "duplicate tag %q", tag)
		}
		seen[tag] = true
	}
	if len(r.Tags) == 0 && r.Untagged != nil && !*r.Untagged {
		ps.Add(at("untagged"), "is false and there are no tags, so the runner would never pick a job; add tags or set untagged: true")
	}
}

func (m ManagerSettings) validate(ps *Problems, path string, maximumTimeout int) {
	at := func(field string) string { return path + "." + field }
	checkImage(ps, at("image"), m.Image)
	if tag := ImageTag(m.Image); tag != "" {
		for _, msg := range validation.IsValidLabelValue(tag) {
			ps.Add(at("image"), "its tag %q cannot be the pods' app.kubernetes.io/version label: %s; use a shorter tag or a digest", tag, msg)
		}
	}
	if m.Replicas != nil && (*m.Replicas < 0 || *m.Replicas > 50) {
		ps.Add(at("replicas"), "must be between 0 and 50, got %d", *m.Replicas)
	}
	checkEnum(ps, at("antiAffinity"), m.AntiAffinity, antiAffinities)
	checkRange(ps, at("concurrent"), m.Concurrent, 1, 1000)
	checkRange(ps, at("checkInterval"), m.CheckInterval, 1, 3600)
	checkEnum(ps, at("logLevel"), m.LogLevel, logLevels)
	checkEnum(ps, at("logFormat"), m.LogFormat, logFormats)
	checkRange(ps, at("shutdownTimeout"), m.ShutdownTimeout, 1, 3600)
	checkRange(ps, at("terminationGracePeriodSeconds"), m.TerminationGracePeriodSeconds, 30, 7*24*3600)
	if drain := m.DrainSeconds(); drain < max(1, maximumTimeout) {
		ps.Add(at("terminationGracePeriodSeconds"),
			"is %d, which leaves a stopping manager %d seconds to finish its jobs after shutdownTimeout (%d) and a %d-second margin, but jobs may run for %d seconds (runner.maximumTimeout); raise it to at least %d",
			m.TerminationGracePeriodSeconds, drain, m.ShutdownTimeout, StopMargin, max(1, maximumTimeout), max(1, maximumTimeout)+m.ShutdownTimeout+StopMargin)
	}
	checkRange(ps, at("rolloutTimeout"), m.RolloutTimeout, 0, 7*24*3600)
	checkLabels(ps, at("podLabels"), m.PodLabels)
	for key := range m.PodLabels {
		if strings.HasPrefix(key, "app.kubernetes.io/") {
			ps.Add(at("podLabels"), "key %q: the app.kubernetes.io/ labels belong to the fleet (they select its pods)", key)
		}
	}
	checkAnnotations(ps, at("podAnnotations"), m.PodAnnotations)
	if _, ok := m.PodAnnotations["checksum/config"]; ok {
		ps.Add(at("podAnnotations"), "key \"checksum/config\" belongs to the fleet (it rolls the pods on a config change)")
	}
	m.Resources.validate(ps, at("resources"))
	for name, id := range map[string]*int64{"runAsUser": m.RunAsUser, "runAsGroup": m.RunAsGroup, "fsGroup": m.FSGroup} {
		if id != nil && *id <= 0 {
			ps.Add(at(name), "must be a positive non-root id (the restricted Pod Security level forbids root), got %d", *id)
		}
	}
	checkLabels(ps, at("nodeSelector"), m.NodeSelector)
	checkTolerations(ps, at("tolerations"), m.Tolerations)
	checkAnnotations(ps, at("serviceAccountAnnotations"), m.ServiceAccountAnnotations)
	validatePullSecrets(ps, path, m.ImagePullSecrets, m.RegistryCredentialsConfigKey)
}

func (e ExecutorSettings) validate(ps *Problems, path string) {
	at := func(field string) string { return path + "." + field }
	checkImage(ps, at("image"), e.Image)
	for i, p := range e.PullPolicy {
		checkEnum(ps, fmt.Sprintf("%s[%d]", at("pullPolicy"), i), p, pullPolicies)
	}
	checkRange(ps, at("pollInterval"), e.PollInterval, 1, 600)
	checkRange(ps, at("pollTimeout"), e.PollTimeout, 1, 3600)
	if e.PollTimeout < e.PollInterval {
		ps.Add(at("pollTimeout"), "(%d) must be at least pollInterval (%d)", e.PollTimeout, e.PollInterval)
	}
	e.Build.validate(ps, at("build"))
	e.Service.validate(ps, at("service"))
	e.Helper.validate(ps, at("helper"))
	if e.ServiceAccount != "" {
		checkDNS1123Subdomain(ps, at("serviceAccount"), e.ServiceAccount)
	}
	checkLabels(ps, at("nodeSelector"), e.NodeSelector)
	checkTolerations(ps, at("tolerations"), e.Tolerations)
	checkLabels(ps, at("podLabels"), e.PodLabels)
	checkAnnotations(ps, at("podAnnotations"), e.PodAnnotations)
	for name, v := range map[string]*int{"podTerminationGracePeriodSeconds": e.PodTerminationGracePeriodSeconds, "cleanupGracePeriodSeconds": e.CleanupGracePeriodSeconds} {
		if v != nil && (*v < 0 || *v > 3600) {
			ps.Add(at(name), "must be between 0 and 3600 seconds, got %d", *v)
		}
	}
	checkFeatureFlags(ps, at("featureFlags"), e.FeatureFlags)
	for name, id := range map[string]*int64{"runAsUser": e.RunAsUser, "runAsGroup": e.RunAsGroup, "fsGroup": e.FSGroup} {
		if id != nil && *id < 0 {
			ps.Add(at(name), "must be a user or group id (0 or more), got %d", *id)
		}
	}
	if e.RunAsNonRoot != nil && *e.RunAsNonRoot && e.RunAsUser != nil && *e.RunAsUser == 0 {
		ps.Add(at("runAsUser"), "is 0 (root) but runAsNonRoot is true: the kubelet would refuse every job container; pick a non-zero id")
	}
	if e.Privileged && e.AllowPrivilegeEscalation != nil && !*e.AllowPrivilegeEscalation {
		ps.Add(at("allowPrivilegeEscalation"), "is false but privileged containers always can escalate (the API server refuses the pair); remove it or privileged")
	}
	e.Quota.validate(ps, at("quota"))
	validatePullSecrets(ps, path, e.ImagePullSecrets, e.RegistryCredentialsConfigKey)
	switch {
	case e.HelperImage != "" && e.HelperImageFlavor != "":
		ps.Add(at("helperImage"), "and helperImageFlavor both pick the helper image; keep one")
	case e.HelperImage != "":
		checkImage(ps, at("helperImage"), e.HelperImage)
	case e.HelperImageFlavor != "":
		checkEnum(ps, at("helperImageFlavor"), e.HelperImageFlavor, helperImageFlavors)
	}
	checkAnnotations(ps, at("serviceAccountAnnotations"), e.ServiceAccountAnnotations)
	if len(e.ServiceAccountAnnotations) > 0 && e.ServiceAccount == "" {
		ps.Add(at("serviceAccountAnnotations"), "need executor.serviceAccount: the fleet creates that ServiceAccount with these annotations")
	}
	validateVolumes(ps, at("volumes"), e.Volumes)
	e.validateJobPolicy(ps, path)
	checkEnum(ps, at("podSecurity"), e.PodSecurity, podSecurities)
	if e.Privileged && e.PodSecurity != "privileged" {
		ps.Add(at("podSecurity"), "is %q but privileged job containers need the privileged level; set podSecurity: privileged or privileged: false", e.PodSecurity)
	}
}

func (c ContainerResources) validate(ps *Problems, path string) {
	for _, pair := range []struct{ kind, request, limit string }{
		{"cpu", c.CPURequest, c.CPULimit}, {"memory", c.MemoryRequest, c.MemoryLimit},
		{"ephemeralStorage", c.EphemeralStorageRequest, c.EphemeralStorageLimit},
	} {
		req := parseQuantity(ps, path+"."+pair.kind+"Request", pair.request)
		limit := parseQuantity(ps, path+"."+pair.kind+"Limit", pair.limit)
		if req != nil && limit != nil && req.Cmp(*limit) > 0 {
			ps.Add(path+"."+pair.kind+"Request", "(%s) must not exceed %sLimit (%s)", pair.request, pair.kind, pair.limit)
		}
	}
}

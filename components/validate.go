package components

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Problem is one invalid setting: where it is and what is allowed.
type Problem struct {
	Path    string
	Message string
}

func (p Problem) String() string { return p.Path + ": " + p.Message }

// Problems collects every invalid setting so all of them are reported at once.
type Problems []Problem

func (ps *Problems) add(path, format string, args ...any) {
	*ps = append(*ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when there is no problem, else one error listing them all.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "invalid stack configuration (%d problem(s)); nothing was created:", len(ps))
	for _, p := range ps {
		b.WriteString("\n  - " + p.String())
	}
	return fmt.Errorf("%s", b.String())
}

// Name limits: StatefulSet pods add "-<ordinal>" and their controller-revision-hash
// label adds "-<10 chars>" to the fleet name, and both must stay within 63.
const maxFleetNameLength = 40

var (
	runnerTypes    = []string{"instance_type", "group_type", "project_type"}
	accessLevels   = []string{"not_protected", "ref_protected"}
	logLevels      = []string{"debug", "info", "warning", "error", "fatal", "panic"}
	logFormats     = []string{"runner", "text", "json"}
	pullPolicies   = []string{"never", "if-not-present", "always"}
	antiAffinities = []string{"preferred", "required", "none"}
	podSecurities  = []string{"restricted", "baseline", "privileged"}
	taintEffects   = []string{"", "NoSchedule", "PreferNoSchedule", "NoExecute"}
	featureFlagRe  = regexp.MustCompile(`^FF_[A-Z0-9_]+$`)
	// Feature flags whose permissions this project does not grant: they need
	// configmaps, PVCs and namespaces in the job namespace.
	unsupportedFeatureFlags = []string{"FF_SUSPENDABLE_ENVIRONMENTS"}
)

// Validate checks a defaulted fleet (see WithDefaults) and returns every
// problem found; path prefixes each problem's location, e.g. "fleets[0]".
func (s FleetSettings) Validate(path string) Problems {
	var ps Problems
	at := func(field string) string { return path + "." + field }

	if s.Name == "" {
		ps.add(at("name"), "is required: a lowercase DNS label such as \"docker-builds\"")
	} else {
		checkDNS1035(&ps, at("name"), s.Name, maxFleetNameLength)
	}
	checkDNS1123(&ps, at("namespace"), s.Namespace)
	checkDNS1123(&ps, at("jobNamespace"), s.JobNamespace)

	switch {
	case s.TokenConfigKey != "" && s.TokenSecret != nil:
		ps.add(at("tokenSecret"), "and tokenConfigKey both give an existing token; keep one")
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
			ps.add(at("tokenConfigKey"), "holds what looks like a token, not the name of a setting: put the token in a secret setting (`pulumi config set --secret <name> glrt-...`), name that setting here, and revoke the pasted token if this file was shared")
		case !validConfigKey(s.TokenConfigKey):
			ps.add(at("tokenConfigKey"), "must be a config key name of letters, digits, '-' or '_', got %q", s.TokenConfigKey)
		}
		if s.Runner.Type != "" || len(s.Runner.Tags) > 0 || s.Runner.GroupID != 0 || s.Runner.ProjectID != 0 ||
			s.Runner.Description != "" || s.Runner.MaximumTimeout != 0 || s.Runner.MaintenanceNote != "" ||
			s.Runner.Untagged != nil || s.Runner.Locked || s.Runner.Paused || s.Runner.AccessLevel != "" {
			ps.add(at("runner"), "must be empty with an existing token (tokenConfigKey or tokenSecret): its runner's settings live in GitLab; remove runner, or the existing token")
		}
	}
	s.Cache.validate(&ps, at("cache"))
	s.GitlabCA.validate(&ps, at("gitlabCA"))
	validateRotation(&ps, at("runner.rotateEvery"), s.Runner.RotateEvery)
	if !s.ManagesRunner() && s.Runner.RotateEvery != "" {
		ps.add(at("runner.rotateEvery"), "cannot rotate an existing token (tokenConfigKey, tokenSecret): the stack does not own its runner")
	}
	s.Manager.validate(&ps, at("manager"), s.Runner.MaximumTimeout)
	s.Manager.Monitoring.validate(&ps, at("manager.monitoring"), s.Network)
	s.Network.validate(&ps, at("network"))
	before := len(ps)
	s.Executor.validate(&ps, at("executor"))
	version, versionOK := s.checkRunnerVersion(&ps, at("manager"))
	// The rendered configuration is only checked when its settings are valid.
	if versionOK && len(ps) == before {
		rendered := runnerConfig(s)
		for _, problem := range UnsupportedRunnerKeys(RunnerTemplate{Runners: []RunnerConfig{rendered}}, version) {
			ps.add(at("executor"), "%s; pick a newer manager.image (or manager.runnerVersion) or leave out the setting that renders it", problem)
		}
		if s.Executor.ExtraConfig != "" {
			if extra, err := parseExtraConfig(s.Executor.ExtraConfig); err != nil {
				ps.add(at("executor.extraConfig"), "is not TOML for a [[runners]] entry: %v", err)
			} else {
				checkExtraConfig(&ps, at("executor.extraConfig"), extra, renderedMap(rendered), version)
			}
		}
		for _, problem := range UnsupportedRunnerKeys(globalConfig(s.Manager), version) {
			ps.add(at("manager"), "%s; pick a newer manager.image", problem)
		}
		checkJobPodSecurity(&ps, at("executor"), s)
	}
	return ps
}

// checkRunnerVersion finds the runner release of the managers: from
// manager.runnerVersion, else from the image tag.
func (s FleetSettings) checkRunnerVersion(ps *Problems, path string) (RunnerVersion, bool) {
	m := s.Manager
	fromTag, tagged := RunnerVersionOfImage(m.Image)
	var version RunnerVersion
	switch {
	case m.RunnerVersion != "":
		v, ok := ParseRunnerVersion(m.RunnerVersion)
		if !ok {
			ps.add(path+".runnerVersion", "%q is not a GitLab Runner release such as \"v19.3.0\"", m.RunnerVersion)
			return RunnerVersion{}, false
		}
		if tagged && v != fromTag {
			ps.add(path+".runnerVersion", "is %s but the image tag says %s; remove runnerVersion or make them agree", v, fromTag)
			return RunnerVersion{}, false
		}
		version = v
	case tagged:
		version = fromTag
	default:
		ps.add(path+".runnerVersion", "is required: the tag of %q names no GitLab Runner release (like alpine-v19.3.0), and the fleet must know the release to render only keys it reads; set runnerVersion: v<major>.<minor>.<patch>", m.Image)
		return RunnerVersion{}, false
	}
	if version.minorLess(MinimumRunnerVersion) {
		ps.add(path+".image", "runs GitLab Runner %s; the fleet needs %d.%d or later (it turns the runner's own token rotation off, which older releases cannot)",
			version, MinimumRunnerVersion.Major, MinimumRunnerVersion.Minor)
		return RunnerVersion{}, false
	}
	return version, true
}

func (r RunnerSettings) validate(ps *Problems, path string) {
	at := func(field string) string { return path + "." + field }
	switch r.Type {
	case "":
		ps.add(at("type"), "is required: one of %s (or set tokenConfigKey to use an existing token)", strings.Join(runnerTypes, ", "))
	case "instance_type":
		if r.GroupID != 0 || r.ProjectID != 0 {
			ps.add(path, "instance_type runners take neither groupId nor projectId; remove them or pick group_type/project_type")
		}
	case "group_type":
		if r.GroupID <= 0 {
			ps.add(at("groupId"), "must be a positive GitLab group id for a group_type runner, got %d", r.GroupID)
		}
		if r.ProjectID != 0 {
			ps.add(at("projectId"), "must not be set for a group_type runner")
		}
	case "project_type":
		if r.ProjectID <= 0 {
			ps.add(at("projectId"), "must be a positive GitLab project id for a project_type runner, got %d", r.ProjectID)
		}
		if r.GroupID != 0 {
			ps.add(at("groupId"), "must not be set for a project_type runner")
		}
	default:
		checkEnum(ps, at("type"), r.Type, runnerTypes)
	}
	checkEnum(ps, at("accessLevel"), r.AccessLevel, accessLevels)
	if r.MaximumTimeout != 0 && r.MaximumTimeout < 600 {
		ps.add(at("maximumTimeout"), "must be at least 600 seconds (GitLab's minimum), or 0 for no limit; got %d", r.MaximumTimeout)
	}
	if len(r.MaintenanceNote) > 1024 {
		ps.add(at("maintenanceNote"), "must be at most 1024 characters, got %d", len(r.MaintenanceNote))
	}
	seen := map[string]bool{}
	for i, tag := range r.Tags {
		switch {
		case strings.TrimSpace(tag) == "":
			ps.add(fmt.Sprintf("%s[%d]", at("tags"), i), "must not be empty")
		case strings.Contains(tag, ","):
			ps.add(fmt.Sprintf("%s[%d]", at("tags"), i), "must not contain ',' (GitLab splits tags on commas), got %q", tag)
		case seen[tag]:
			ps.add(fmt.Sprintf("%s[%d]", at("tags"), i), "duplicate tag %q", tag)
		}
		seen[tag] = true
	}
	if len(r.Tags) == 0 && r.Untagged != nil && !*r.Untagged {
		ps.add(at("untagged"), "is false and there are no tags, so the runner would never pick a job; add tags or set untagged: true")
	}
}

func (m ManagerSettings) validate(ps *Problems, path string, maximumTimeout int) {
	at := func(field string) string { return path + "." + field }
	checkImage(ps, at("image"), m.Image)
	if tag := imageVersion(m.Image); tag != "" {
		for _, msg := range validation.IsValidLabelValue(tag) {
			ps.add(at("image"), "its tag %q cannot be the pods' app.kubernetes.io/version label: %s; use a shorter tag or a digest", tag, msg)
		}
	}
	if m.Replicas != nil && (*m.Replicas < 0 || *m.Replicas > 50) {
		ps.add(at("replicas"), "must be between 0 and 50, got %d", *m.Replicas)
	}
	checkEnum(ps, at("antiAffinity"), m.AntiAffinity, antiAffinities)
	checkRange(ps, at("concurrent"), m.Concurrent, 1, 1000)
	checkRange(ps, at("checkInterval"), m.CheckInterval, 1, 3600)
	checkEnum(ps, at("logLevel"), m.LogLevel, logLevels)
	checkEnum(ps, at("logFormat"), m.LogFormat, logFormats)
	checkRange(ps, at("shutdownTimeout"), m.ShutdownTimeout, 1, 3600)
	checkRange(ps, at("terminationGracePeriodSeconds"), m.TerminationGracePeriodSeconds, 30, 7*24*3600)
	if drain := m.DrainSeconds(); drain < max(1, maximumTimeout) {
		ps.add(at("terminationGracePeriodSeconds"),
			"is %d, which leaves a stopping manager %d seconds to finish its jobs after shutdownTimeout (%d) and a %d-second margin, but jobs may run for %d seconds (runner.maximumTimeout); raise it to at least %d",
			m.TerminationGracePeriodSeconds, drain, m.ShutdownTimeout, StopMargin, max(1, maximumTimeout), max(1, maximumTimeout)+m.ShutdownTimeout+StopMargin)
	}
	checkRange(ps, at("rolloutTimeout"), m.RolloutTimeout, 0, 7*24*3600)
	checkLabels(ps, at("podLabels"), m.PodLabels)
	for key := range m.PodLabels {
		if strings.HasPrefix(key, "app.kubernetes.io/") {
			ps.add(at("podLabels"), "key %q: the app.kubernetes.io/ labels belong to the fleet (they select its pods)", key)
		}
	}
	checkAnnotations(ps, at("podAnnotations"), m.PodAnnotations)
	if _, ok := m.PodAnnotations["checksum/config"]; ok {
		ps.add(at("podAnnotations"), "key \"checksum/config\" belongs to the fleet (it rolls the pods on a config change)")
	}
	m.Resources.validate(ps, at("resources"))
	for name, id := range map[string]*int64{"runAsUser": m.RunAsUser, "runAsGroup": m.RunAsGroup, "fsGroup": m.FSGroup} {
		if id != nil && *id <= 0 {
			ps.add(at(name), "must be a positive non-root id (the restricted Pod Security level forbids root), got %d", *id)
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
		ps.add(at("pollTimeout"), "(%d) must be at least pollInterval (%d)", e.PollTimeout, e.PollInterval)
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
			ps.add(at(name), "must be between 0 and 3600 seconds, got %d", *v)
		}
	}
	for _, name := range sortedKeys(e.FeatureFlags) {
		switch {
		case !featureFlagRe.MatchString(name):
			ps.add(at("featureFlags"), "%q is not a feature flag name (FF_ followed by capitals, digits or '_')", name)
		case slices.Contains(unsupportedFeatureFlags, name) && e.FeatureFlags[name]:
			ps.add(at("featureFlags"), "%s needs configmaps, PVCs and namespaces in the job namespace, which this project does not grant; remove it", name)
		case runnerOwnedFeatureFlags[name] != e.FeatureFlags[name] && hasKey(runnerOwnedFeatureFlags, name):
			ps.add(at("featureFlags"), "%s is set to %t by the fleet: the stack rotates the runner token (runner.rotateEvery), a manager must not; remove it", name, runnerOwnedFeatureFlags[name])
		}
	}
	for name, id := range map[string]*int64{"runAsUser": e.RunAsUser, "runAsGroup": e.RunAsGroup, "fsGroup": e.FSGroup} {
		if id != nil && *id < 0 {
			ps.add(at(name), "must be a user or group id (0 or more), got %d", *id)
		}
	}
	if e.RunAsNonRoot != nil && *e.RunAsNonRoot && e.RunAsUser != nil && *e.RunAsUser == 0 {
		ps.add(at("runAsUser"), "is 0 (root) but runAsNonRoot is true: the kubelet would refuse every job container; pick a non-zero id")
	}
	if e.Privileged && e.AllowPrivilegeEscalation != nil && !*e.AllowPrivilegeEscalation {
		ps.add(at("allowPrivilegeEscalation"), "is false but privileged containers always can escalate (the API server refuses the pair); remove it or privileged")
	}
	e.Quota.validate(ps, at("quota"))
	validatePullSecrets(ps, path, e.ImagePullSecrets, e.RegistryCredentialsConfigKey)
	switch {
	case e.HelperImage != "" && e.HelperImageFlavor != "":
		ps.add(at("helperImage"), "and helperImageFlavor both pick the helper image; keep one")
	case e.HelperImage != "":
		checkImage(ps, at("helperImage"), e.HelperImage)
	case e.HelperImageFlavor != "":
		checkEnum(ps, at("helperImageFlavor"), e.HelperImageFlavor, helperImageFlavors)
	}
	checkAnnotations(ps, at("serviceAccountAnnotations"), e.ServiceAccountAnnotations)
	if len(e.ServiceAccountAnnotations) > 0 && e.ServiceAccount == "" {
		ps.add(at("serviceAccountAnnotations"), "need executor.serviceAccount: the fleet creates that ServiceAccount with these annotations")
	}
	validateVolumes(ps, at("volumes"), e.Volumes)
	e.validateJobPolicy(ps, path)
	checkEnum(ps, at("podSecurity"), e.PodSecurity, podSecurities)
	if e.Privileged && e.PodSecurity != "privileged" {
		ps.add(at("podSecurity"), "is %q but privileged job containers need the privileged level; set podSecurity: privileged or privileged: false", e.PodSecurity)
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
			ps.add(path+"."+pair.kind+"Request", "(%s) must not exceed %sLimit (%s)", pair.request, pair.kind, pair.limit)
		}
	}
}

// parseQuantity checks a Kubernetes quantity; empty means unset.
func parseQuantity(ps *Problems, path, value string) *resource.Quantity {
	if value == "" {
		return nil
	}
	q, err := resource.ParseQuantity(value)
	if err != nil {
		ps.add(path, "%q is not a Kubernetes quantity (e.g. \"500m\", \"2\", \"512Mi\", \"1Gi\")", value)
		return nil
	}
	if q.Sign() <= 0 {
		ps.add(path, "must be positive, got %q", value)
		return nil
	}
	return &q
}

// versionTagRe finds a version of at least major.minor in an image tag.
var versionTagRe = regexp.MustCompile(`\d+\.\d+`)

// checkImage requires a real pin: a digest (sha256 and its 64 hex digits),
// or a tag naming a version of at least major.minor (3.22, 1.26.1,
// alpine-v19.3.0). latest, edge, a bare major version (alpine:3) and the like
// move under you: two pods of one fleet would run different code.
func checkImage(ps *Problems, path, image string) {
	if image == "" {
		ps.add(path, "is required")
		return
	}
	ref, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		ps.add(path, "%q is not an image reference: %v", image, err)
		return
	}
	if _, digested := ref.(reference.Digested); digested {
		return // ParseNormalizedNamed checked the digest's algorithm and length
	}
	tagged, ok := ref.(reference.Tagged)
	switch {
	case !ok:
		ps.add(path, "%q has no tag: pin a version such as %q or a digest (an untagged image means latest)", image, image+":<version>")
	case !versionTagRe.MatchString(tagged.Tag()):
		ps.add(path, "%q is not pinned: the tag %q names no version of at least major.minor (it moves as new images are pushed); use a tag such as 3.22 or v19.3.0, or a digest", image, tagged.Tag())
	}
}

// ValidateGitlabURL checks the address runner pods use to reach GitLab.
func ValidateGitlabURL(path, raw string) Problems {
	var ps Problems
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		ps.add(path, "is required: the GitLab address runners connect to, e.g. https://gitlab.example.com/")
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		ps.add(path, "must be an http(s) URL such as https://gitlab.example.com/")
	case u.User != nil:
		ps.add(path, "%q carries credentials: they would reach every runner pod's environment and every log of it; remove them (runners authenticate with their own tokens)", u.Redacted())
	case u.RawQuery != "" || u.Fragment != "":
		ps.add(path, "%q must not have a query or fragment", raw)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		ps.add(path, "%q is plain http: runner tokens and job logs would cross the network unencrypted; use https (plain http is accepted on loopback only, for local development)", raw)
	}
	return ps
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkEnum(ps *Problems, path, value string, allowed []string) {
	if !slices.Contains(allowed, value) {
		ps.add(path, "%q is not allowed: use one of %s", value, strings.Join(allowed, ", "))
	}
}

func checkRange(ps *Problems, path string, value, lo, hi int) {
	if value < lo || value > hi {
		ps.add(path, "must be between %d and %d, got %d", lo, hi, value)
	}
}

func checkDNS1035(ps *Problems, path, value string, maxLen int) {
	for _, msg := range validation.IsDNS1035Label(value) {
		ps.add(path, "%q: %s", value, msg)
	}
	if len(value) > maxLen {
		ps.add(path, "%q is %d characters; at most %d leave room for the suffixes of generated object names", value, len(value), maxLen)
	}
}

func checkDNS1123(ps *Problems, path, value string) {
	for _, msg := range validation.IsDNS1123Label(value) {
		ps.add(path, "%q: %s", value, msg)
	}
}

func checkDNS1123Subdomain(ps *Problems, path, value string) {
	for _, msg := range validation.IsDNS1123Subdomain(value) {
		ps.add(path, "%q: %s", value, msg)
	}
}

func checkLabels(ps *Problems, path string, labels map[string]string) {
	for _, key := range sortedKeys(labels) {
		for _, msg := range validation.IsQualifiedName(key) {
			ps.add(path, "key %q: %s", key, msg)
		}
		for _, msg := range validation.IsValidLabelValue(labels[key]) {
			ps.add(path, "value of %q: %s", key, msg)
		}
	}
}

func checkAnnotations(ps *Problems, path string, annotations map[string]string) {
	for _, key := range sortedKeys(annotations) {
		for _, msg := range validation.IsQualifiedName(key) {
			ps.add(path, "key %q: %s", key, msg)
		}
	}
}

func hasKey[V any](m map[string]V, key string) bool {
	_, ok := m[key]
	return ok
}

func checkTolerations(ps *Problems, path string, tolerations []Toleration) {
	for i, t := range tolerations {
		at := fmt.Sprintf("%s[%d]", path, i)
		if t.Key == "" {
			ps.add(at+".key", "is required")
		} else {
			for _, msg := range validation.IsQualifiedName(t.Key) {
				ps.add(at+".key", "%q: %s", t.Key, msg)
			}
		}
		switch t.Operator {
		case "", "Equal":
		case "Exists":
			if t.Value != "" {
				ps.add(at+".value", "must be empty with operator Exists")
			}
		default:
			ps.add(at+".operator", "%q is not allowed: use Equal or Exists", t.Operator)
		}
		if !slices.Contains(taintEffects, t.Effect) {
			ps.add(at+".effect", "%q is not allowed: use NoSchedule, PreferNoSchedule, NoExecute, or leave it empty for all", t.Effect)
		}
	}
}

var configKeyRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

// tokenPrefixes start GitLab's tokens: runner authentication, personal
// access, registration, and the other kinds a user might paste.
var tokenPrefixes = []string{"glrt-", "glpat-", "GR1348941", "glptt-", "gldt-", "glcbt-", "glimt-", "glsoat-"}

// ValidTokenConfigKey reports whether key can name a token setting (Validate
// explains why not).
func ValidTokenConfigKey(key string) bool { return validConfigKey(key) && !looksLikeToken(key) }

func looksLikeToken(value string) bool {
	for _, p := range tokenPrefixes {
		if strings.HasPrefix(value, p) {
			return true
		}
	}
	return false
}

func validConfigKey(key string) bool { return configKeyRe.MatchString(key) }

package runnerconfig

import (
	"fmt"
	"strings"

	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"k8s.io/utils/ptr"

	"github.com/glrf/gitlab-runner-fleet/components/runnerversion"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// seccompPodSpecPatch sets the pod's seccomp profile on runners older than
// 18.11, which have no seccomp_profile key.
const seccompPodSpecPatch = `{"securityContext":{"seccompProfile":{"type":"RuntimeDefault"}}}`

// applyJobSecurity renders the job security settings into k (and the feature
// flags the runner version needs for them): what the runner puts in the
// security contexts of the pods it builds for jobs, so that they are
// admitted at the Pod Security level of the job namespace.
//
// Without settings, the runner gives job containers only `privileged` and a
// dropped NET_RAW: no runAsNonRoot, no allowPrivilegeEscalation=false, no
// seccomp profile. Such pods pass `baseline` and fail `restricted`. The fleet
// renders, per level:
//
//	all levels   pod seccomp profile RuntimeDefault (runner 18.11+ through
//	             pod_security_context.seccomp_profile; older runners through a
//	             pod_spec patch, which needs FF_USE_ADVANCED_POD_SPEC_CONFIGURATION);
//	             allow_privilege_escalation=false in every container unless
//	             executor.allowPrivilegeEscalation or executor.privileged;
//	             run_as_user/run_as_group/fs_group/run_as_non_root when set.
//	restricted   also run_as_non_root=true and a non-root user and group for the
//	             whole pod (default 1000:1000, fsGroup 1000), ALL capabilities dropped.
//	privileged   build and service containers privileged when executor.privileged;
//	             the helper and init-permissions containers never are.
//
// checkJobPodSecurity then builds the job pod the way the runner would
// (JobPod) and evaluates it with k8s.io/pod-security-admission at the level of the job
// namespace, so a combination the level refuses is an error, not rejected jobs.
func applyJobSecurity(k *KubernetesConfig, flags map[string]bool, e settings.ExecutorSettings, v runnerversion.Version) {
	pod := &PodSecurityContext{RunAsNonRoot: e.RunAsNonRoot, RunAsUser: e.RunAsUser, RunAsGroup: e.RunAsGroup, FSGroup: e.FSGroup}
	if v.AtLeast(18, 11) {
		pod.SeccompProfile = &SeccompProfile{Type: "RuntimeDefault"}
	} else {
		k.PodSpec = append(k.PodSpec, PodSpecPatch{Name: "seccomp-runtime-default", PatchType: "strategic", Patch: seccompPodSpecPatch})
		flags[runnerversion.FFAdvancedPodSpec] = true
	}
	k.PodSecurityContext = pod

	// Privilege escalation (setuid binaries such as sudo) stays off unless a
	// setting asks for it; privileged containers have it by definition.
	escalation := e.AllowPrivilegeEscalation != nil && *e.AllowPrivilegeEscalation
	container := func(privileged bool) *ContainerSecurityContext {
		c := &ContainerSecurityContext{RunAsNonRoot: e.RunAsNonRoot, Privileged: ptr.To(privileged)}
		if !privileged && !escalation {
			c.AllowPrivilegeEscalation = ptr.To(false)
		}
		if e.PodSecurity == "restricted" {
			c.Capabilities = &Capabilities{Drop: []string{"ALL"}}
		}
		return c
	}
	k.BuildContainerSecurityContext = container(e.Privileged)
	k.ServiceContainerSecurityContext = container(e.Privileged)
	// The helper and init-permissions containers never need privileges, even
	// when build and service containers are privileged.
	k.HelperContainerSecurityContext = container(false)
	k.InitPermissionsContainerSecurityContext = container(false)
}

// podSecurityViolations evaluates the job pods of a [[runners]] entry
// against a Pod Security level, and explains each refusal.
func podSecurityViolations(r RunnerConfig, v runnerversion.Version, level string) ([]string, error) {
	lvl, err := api.ParseLevel(level)
	if err != nil {
		return nil, err
	}
	pod, err := JobPod(r, v, JobPodOptions{})
	if err != nil {
		return nil, err
	}
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks())
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range evaluator.EvaluatePod(api.LevelVersion{Level: lvl, Version: api.LatestVersion()}, &pod.ObjectMeta, &pod.Spec) {
		if !r.Allowed {
			out = append(out, strings.TrimSpace(r.ForbiddenReason+" ("+r.ForbiddenDetail+")"))
		}
	}
	return out, nil
}

// checkJobPodSecurity reports a problem when the job pods of a fleet would be
// refused in its job namespace: the pods of its final entry, executor.extraConfig
// merged in.
func checkJobPodSecurity(ps *settings.Problems, path string, s settings.FleetSettings) {
	rc, err := FinalEntry(s)
	if err != nil {
		ps.Add(path, "cannot build the job pod to check it: %v", err)
		return
	}
	violations, err := podSecurityViolations(rc, s.RunnerVersion(), s.Executor.PodSecurity)
	if err != nil {
		ps.Add(path, "cannot build the job pod to check it: %v", err)
		return
	}
	if len(violations) == 0 {
		return
	}
	ps.Add(path+".podSecurity", "the job namespace %q enforces %q, which would reject every job pod the runner builds from these settings: %s; "+
		"fix executor.runAsNonRoot/runAsUser/runAsGroup/allowPrivilegeEscalation/privileged (or what executor.extraConfig adds), or choose the level these jobs need (%s)",
		s.JobNamespace, s.Executor.PodSecurity, strings.Join(violations, "; "), suggestLevel(s))
}

// suggestLevel names the strictest level the fleet's job pods pass.
func suggestLevel(s settings.FleetSettings) string {
	for _, level := range []string{"restricted", "baseline", "privileged"} {
		t := s
		t.Executor.PodSecurity = level
		rc, err := FinalEntry(t)
		if err != nil {
			break
		}
		if v, err := podSecurityViolations(rc, s.RunnerVersion(), level); err == nil && len(v) == 0 {
			return fmt.Sprintf("podSecurity: %s", level)
		}
	}
	return "podSecurity: privileged"
}

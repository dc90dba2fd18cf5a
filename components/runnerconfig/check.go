package runnerconfig

import "github.com/glrf/gitlab-runner-fleet/components/settings"

// Check checks what the runner would receive from a fleet's (defaulted)
// settings, against the runner's own facts: every rendered key and feature
// flag read by the managers' release, executor.extraConfig (TOML for the
// [[runners]] entry, none of its keys refused), and the job pods the runner
// would build admitted at the job namespace's Pod Security level. path
// prefixes each problem's location, e.g. "fleets[0]".
//
// The configuration is only rendered from settings it can be rendered from
// (settings.FleetSettings.Renderable); FleetSettings.Validate reports what is
// wrong with the others.
func Check(s settings.FleetSettings, path string) settings.Problems {
	var ps settings.Problems
	if !s.Renderable() {
		return ps
	}
	at := func(field string) string { return path + "." + field }
	version := s.RunnerVersion()
	rendered := Runner(s)
	for _, problem := range UnsupportedRunnerKeys(RunnerTemplate{Runners: []RunnerConfig{rendered}}, version) {
		ps.Add(at("executor"), "%s; pick a newer manager.image (or manager.runnerVersion) or leave out the setting that renders it", problem)
	}
	if s.Executor.ExtraConfig != "" {
		extra, err := parseExtraConfig(s.Executor.ExtraConfig)
		if err != nil {
			ps.Add(at("executor.extraConfig"), "is not TOML for a [[runners]] entry: %v", err)
			return ps
		}
		before := len(ps)
		checkExtraConfig(&ps, at("executor.extraConfig"), extra, renderedMap(rendered), version, s.Executor.Privileged)
		if len(ps) == before {
			_, undecoded, err := decodeFinalEntry(s)
			if err != nil {
				ps.Add(at("executor.extraConfig"), "cannot be merged into the fleet's [[runners]] entry: %v", err)
			}
			for _, key := range unjudgedKeys(undecoded) {
				ps.Add(at("executor.extraConfig"), "%s would change the job pod in a way the fleet's model of it cannot judge (Pod Security, quota, admission); use a typed setting, or leave it out", key)
			}
		}
		if len(ps) > before {
			// The job pod is checked from the merged entry, which holds
			// what was refused.
			return ps
		}
	}
	for _, problem := range UnsupportedRunnerKeys(Global(s.Manager), version) {
		ps.Add(at("manager"), "%s; pick a newer manager.image", problem)
	}
	checkLint(&ps, at("executor"), rendered, version)
	checkJobPodSecurity(&ps, at("executor"), s)
	return ps
}

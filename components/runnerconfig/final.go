package runnerconfig

import (
	"fmt"

	"github.com/BurntSushi/toml"

	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// FinalEntry is the fleet's [[runners]] entry as the runner receives it:
// the rendered template with executor.extraConfig merged in, decoded back
// into this package's types. The job pod the fleet checks (JobPod) and the
// Role it grants are built from it, so that whatever extraConfig adds is
// judged with the rest. Keys the types do not hold are in its
// decoding's undecoded keys (see unjudgedKeys).
func FinalEntry(s settings.FleetSettings) (RunnerConfig, error) {
	r, _, err := decodeFinalEntry(s)
	return r, err
}

// decodeFinalEntry decodes the merged template, and returns the key paths
// (in the [[runners]] entry) that no field of RunnerConfig holds.
func decodeFinalEntry(s settings.FleetSettings) (RunnerConfig, []string, error) {
	text, err := RenderRunnerTemplate(s)
	if err != nil {
		return RunnerConfig{}, nil, err
	}
	var template RunnerTemplate
	meta, err := toml.Decode(text, &template)
	if err != nil {
		return RunnerConfig{}, nil, fmt.Errorf("decoding the merged runner template: %w", err)
	}
	if len(template.Runners) != 1 {
		return RunnerConfig{}, nil, fmt.Errorf("the merged runner template holds %d [[runners]] entries, not one", len(template.Runners))
	}
	var undecoded []string
	for _, key := range meta.Undecoded() {
		if len(key) > 1 && key[0] == "runners" {
			undecoded = append(undecoded, joinKey(key[1:]))
		}
	}
	return template.Runners[0], undecoded, nil
}

func joinKey(key toml.Key) string {
	out := ""
	for i, part := range key {
		if i > 0 {
			out += "."
		}
		out += part
	}
	return out
}

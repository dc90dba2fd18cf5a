package gitlab

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The .gitlab-ci.yml subset the stand-in reads. Real GitLab reads the file
// from the repository at the pipeline's ref; the stand-in has no repository,
// so POST /projects/:id/pipeline takes it in the request (ci_config, see
// pipelines.go). Only keywords that shape what a runner receives are read;
// any other keyword is refused with an error that names it, so that a test
// never believes a keyword took effect when it did not.

// defaultStages are GitLab's stages when the file declares none; .pre and
// .post always come first and last.
var defaultStages = []string{"build", "test", "deploy"}

// jobWhen values the stand-in runs (GitLab also has manual, delayed, never).
var jobWhen = []string{"on_success", "on_failure", "always"}

// Keywords understood at the top level and in a job.
var (
	globalDefaultKeys = []string{"image", "services", "before_script", "after_script", "tags", "timeout"}
	jobKeys           = []string{"stage", "script", "before_script", "after_script", "image", "services",
		"variables", "tags", "timeout", "allow_failure", "when"}
	imageKeys    = []string{"name", "entrypoint", "pull_policy"}
	serviceKeys  = []string{"name", "alias", "entrypoint", "command", "variables", "pull_policy"}
	variableKeys = []string{"value", "description", "expand", "options"}
)

// ciConfig is a parsed configuration: its stages and its jobs, in the order
// GitLab creates them (stage by stage, in file order within a stage).
type ciConfig struct {
	Stages []string
	Jobs   []*jobSpec
}

// jobSpec is what a job was configured with; it is persisted with the job.
type jobSpec struct {
	Name         string     `json:"name"`
	Stage        string     `json:"stage"`
	StageIdx     int        `json:"stage_idx"`
	BeforeScript []string   `json:"before_script,omitempty"`
	Script       []string   `json:"script"`
	AfterScript  []string   `json:"after_script,omitempty"`
	Image        *ciImage   `json:"image,omitempty"`
	Services     []*ciImage `json:"services,omitempty"`
	// Variables are the file's global variables overridden by the job's
	// own, global ones first (GitLab's yaml_variables).
	Variables    []ciVariable `json:"variables,omitempty"`
	Tags         []string     `json:"tags,omitempty"`
	Timeout      int          `json:"timeout,omitempty"` // seconds; 0 is the project's timeout
	AllowFailure bool         `json:"allow_failure,omitempty"`
	When         string       `json:"when"`
}

// ciImage is an image or a service.
type ciImage struct {
	Name       string       `json:"name"`
	Alias      string       `json:"alias,omitempty"`
	Entrypoint []string     `json:"entrypoint,omitempty"`
	Command    []string     `json:"command,omitempty"`
	PullPolicy []string     `json:"pull_policy,omitempty"`
	Variables  []ciVariable `json:"variables,omitempty"`
}

// ciVariable is a variable from the file; Raw is `expand: false`.
type ciVariable struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	Raw   bool   `json:"raw,omitempty"`
}

// ciError is a configuration error, worded as GitLab words them
// ("jobs:build config ...").
type ciError struct{ msg string }

func (e *ciError) Error() string { return e.msg }

func ciErrorf(format string, args ...any) error { return &ciError{fmt.Sprintf(format, args...)} }

// parseCIConfig reads a .gitlab-ci.yml in the stand-in's subset.
func parseCIConfig(src string) (*ciConfig, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		return nil, ciErrorf("Invalid configuration format: %v", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, ciErrorf("Please provide content of .gitlab-ci.yml")
	}
	root, err := mapping(doc.Content[0], "root")
	if err != nil {
		return nil, ciErrorf("Invalid configuration format")
	}
	cfg := &ciConfig{Stages: append(append([]string{".pre"}, defaultStages...), ".post")}
	defaults := &jobSpec{}
	var globalVars []ciVariable
	type namedJob struct {
		name string
		node *yaml.Node
	}
	var jobs []namedJob
	for _, kv := range root {
		key, val := kv.key, kv.value
		switch {
		case key == "stages":
			stages, err := stringList(val, "root config", "stages")
			if err != nil {
				return nil, err
			}
			cfg.Stages = append(append([]string{".pre"}, slices.DeleteFunc(stages, func(s string) bool {
				return s == ".pre" || s == ".post"
			})...), ".post")
		case key == "variables":
			if globalVars, err = variables(val, "variables"); err != nil {
				return nil, err
			}
		case key == "default":
			pairs, err := mapping(val, "default")
			if err != nil {
				return nil, ciErrorf("default config should be a hash")
			}
			for _, d := range pairs {
				if !slices.Contains(globalDefaultKeys, d.key) {
					return nil, unsupported("default", d.key, globalDefaultKeys)
				}
				if err := applyJobKey(defaults, "default", d.key, d.value); err != nil {
					return nil, err
				}
			}
		case slices.Contains([]string{"image", "services", "before_script", "after_script"}, key):
			// Deprecated global keywords GitLab still reads as defaults.
			if err := applyJobKey(defaults, "root", key, val); err != nil {
				return nil, err
			}
		case slices.Contains([]string{"include", "workflow", "cache", "types", "spec"}, key):
			return nil, ciErrorf("%s is a keyword the GitLab stand-in does not support; it reads only stages, variables, "+
				"default and jobs with %s", key, strings.Join(jobKeys, ", "))
		case strings.HasPrefix(key, "."):
			// Hidden jobs are templates (reachable through YAML anchors).
		default:
			jobs = append(jobs, namedJob{key, val})
		}
	}
	if len(jobs) == 0 {
		return nil, ciErrorf("jobs config should contain at least one visible job")
	}
	byStage := map[string][]*jobSpec{}
	for _, nj := range jobs {
		js, err := parseJob(nj.name, nj.node, defaults, globalVars)
		if err != nil {
			return nil, err
		}
		idx := slices.Index(cfg.Stages, js.Stage)
		if idx < 0 {
			return nil, ciErrorf("jobs:%s chosen stage %s does not exist; available stages are %s",
				nj.name, js.Stage, strings.Join(cfg.Stages, ", "))
		}
		js.StageIdx = idx
		byStage[js.Stage] = append(byStage[js.Stage], js)
	}
	for _, st := range cfg.Stages {
		cfg.Jobs = append(cfg.Jobs, byStage[st]...)
	}
	return cfg, nil
}

// parseJob reads one job, starting from the defaults.
func parseJob(name string, node *yaml.Node, defaults *jobSpec, globalVars []ciVariable) (*jobSpec, error) {
	where := "jobs:" + name
	pairs, err := mapping(node, where)
	if err != nil {
		return nil, ciErrorf("%s config should be a hash", where)
	}
	js := &jobSpec{
		Name: name, Stage: "test", When: "on_success",
		BeforeScript: defaults.BeforeScript, AfterScript: defaults.AfterScript,
		Image: defaults.Image, Services: defaults.Services, Tags: defaults.Tags, Timeout: defaults.Timeout,
	}
	var jobVars []ciVariable
	hasScript := false
	for _, kv := range pairs {
		if !slices.Contains(jobKeys, kv.key) {
			return nil, unsupported(where, kv.key, jobKeys)
		}
		switch kv.key {
		case "variables":
			if jobVars, err = variables(kv.value, where+":variables"); err != nil {
				return nil, err
			}
		default:
			if kv.key == "script" {
				hasScript = true
			}
			if err := applyJobKey(js, where, kv.key, kv.value); err != nil {
				return nil, err
			}
		}
	}
	if !hasScript || len(js.Script) == 0 {
		return nil, ciErrorf("%s config should implement the script: keyword", where)
	}
	js.Variables = mergeVariables(globalVars, jobVars)
	return js, nil
}

// applyJobKey sets one keyword that jobs and defaults share.
func applyJobKey(js *jobSpec, where, key string, val *yaml.Node) error {
	var err error
	switch key {
	case "stage":
		if js.Stage, err = scalar(val); err != nil || js.Stage == "" {
			return ciErrorf("%s stage should be a string", where)
		}
	case "script":
		js.Script, err = script(val, where, key)
	case "before_script":
		js.BeforeScript, err = script(val, where, key)
	case "after_script":
		js.AfterScript, err = script(val, where, key)
	case "image":
		js.Image, err = image(val, where+":image", imageKeys)
	case "services":
		js.Services, err = services(val, where+":services")
	case "tags":
		js.Tags, err = stringList(val, where, "tags")
	case "timeout":
		s, serr := scalar(val)
		if serr != nil {
			return ciErrorf("%s timeout should be a duration", where)
		}
		js.Timeout, err = parseCIDuration(s)
		if err != nil {
			return ciErrorf("%s timeout should be a duration", where)
		}
	case "allow_failure":
		if val.Kind != yaml.ScalarNode || val.Tag != "!!bool" {
			return ciErrorf("%s allow_failure should be a boolean value (exit_codes is not supported by the GitLab stand-in)", where)
		}
		js.AllowFailure = val.Value == "true"
	case "when":
		w, serr := scalar(val)
		if serr != nil || !slices.Contains(jobWhen, w) {
			return ciErrorf("%s when should be one of: %s (the GitLab stand-in runs no manual or delayed job)",
				where, strings.Join(jobWhen, ", "))
		}
		js.When = w
	}
	return err
}

// unsupported is the error for a keyword outside the subset.
func unsupported(where, key string, known []string) error {
	return ciErrorf("%s config contains unknown keys: %s (the GitLab stand-in reads only %s)",
		where, key, strings.Join(known, ", "))
}

// pair is one entry of a YAML mapping, merge keys resolved.
type pair struct {
	key   string
	value *yaml.Node
}

// resolve follows YAML aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// mapping reads a YAML mapping in order, applying `<<` merge keys the way
// YAML defines them (the mapping's own keys win).
func mapping(n *yaml.Node, where string) ([]pair, error) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, ciErrorf("%s config should be a hash", where)
	}
	var own, merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Tag == "!!merge" || k.Value == "<<" {
			sources := []*yaml.Node{resolve(v)}
			if sources[0].Kind == yaml.SequenceNode {
				sources = sources[0].Content
			}
			for _, src := range sources {
				m, err := mapping(src, where)
				if err != nil {
					return nil, err
				}
				merged = append(merged, m...)
			}
			continue
		}
		own = append(own, pair{k.Value, v})
	}
	out := own
	for _, m := range merged {
		if !slices.ContainsFunc(out, func(p pair) bool { return p.key == m.key }) {
			out = append(out, m)
		}
	}
	return out, nil
}

// scalar reads a scalar as a string.
func scalar(n *yaml.Node) (string, error) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", ciErrorf("not a scalar")
	}
	return n.Value, nil
}

// stringList reads a sequence of strings.
func stringList(n *yaml.Node, where, key string) ([]string, error) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil, ciErrorf("%s %s config should be an array of strings", where, key)
	}
	out := []string{}
	for _, e := range n.Content {
		s, err := scalar(e)
		if err != nil {
			return nil, ciErrorf("%s %s config should be an array of strings", where, key)
		}
		out = append(out, s)
	}
	return out, nil
}

// script reads a script: a string, or a sequence of strings and of
// sequences of strings (GitLab flattens one level, which anchors rely on).
func script(n *yaml.Node, where, key string) ([]string, error) {
	n = resolve(n)
	if s, err := scalar(n); err == nil {
		return []string{s}, nil
	}
	bad := ciErrorf("%s %s config should be a string or a nested array of strings up to 10 levels deep", where, key)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil, bad
	}
	var out []string
	for _, e := range n.Content {
		if s, err := scalar(e); err == nil {
			out = append(out, s)
			continue
		}
		inner, err := stringList(e, where, key)
		if err != nil {
			return nil, bad
		}
		out = append(out, inner...)
	}
	return out, nil
}

// image reads an image or one service: a name, or a hash with the keys
// allowed.
func image(n *yaml.Node, where string, allowed []string) (*ciImage, error) {
	if s, err := scalar(n); err == nil {
		return &ciImage{Name: s}, nil
	}
	pairs, err := mapping(n, where)
	if err != nil {
		return nil, ciErrorf("%s config should be a hash or a string", where)
	}
	img := &ciImage{}
	for _, kv := range pairs {
		if !slices.Contains(allowed, kv.key) {
			return nil, unsupported(where, kv.key, allowed)
		}
		notString := ciErrorf("%s %s config should be a string", where, kv.key)
		switch kv.key {
		case "name", "alias":
			s, err := scalar(kv.value)
			if err != nil {
				return nil, notString
			}
			if kv.key == "name" {
				img.Name = s
			} else {
				img.Alias = s
			}
		case "entrypoint", "command":
			list, err := stringList(kv.value, where, kv.key)
			if err != nil {
				return nil, err
			}
			if kv.key == "entrypoint" {
				img.Entrypoint = list
			} else {
				img.Command = list
			}
		case "pull_policy":
			if s, err := scalar(kv.value); err == nil {
				img.PullPolicy = []string{s}
			} else if img.PullPolicy, err = stringList(kv.value, where, kv.key); err != nil {
				return nil, err
			}
		case "variables":
			if img.Variables, err = variables(kv.value, where+":variables"); err != nil {
				return nil, err
			}
		}
	}
	if img.Name == "" {
		return nil, ciErrorf("%s name can't be blank", where)
	}
	return img, nil
}

// services reads the services list.
func services(n *yaml.Node, where string) ([]*ciImage, error) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil, ciErrorf("%s config should be an array", where)
	}
	out := []*ciImage{}
	for i, e := range n.Content {
		svc, err := image(e, fmt.Sprintf("%s:service[%d]", where, i), serviceKeys)
		if err != nil {
			return nil, err
		}
		out = append(out, svc)
	}
	return out, nil
}

// variables reads a variables hash: values are strings or numbers (GitLab
// refuses Booleans: quote them, FF_PRINT_POD_EVENTS: "true"), or hashes
// with value, description, expand and options.
func variables(n *yaml.Node, where string) ([]ciVariable, error) {
	bad := ciErrorf("%s config should be a hash of key value pairs, value can be a hash", where)
	pairs, err := mapping(n, where)
	if err != nil {
		return nil, bad
	}
	out := []ciVariable{}
	for _, kv := range pairs {
		v := ciVariable{Key: kv.key}
		val := resolve(kv.value)
		switch {
		case val.Kind == yaml.ScalarNode && (val.Tag == "!!str" || val.Tag == "!!int" || val.Tag == "!!float"):
			v.Value = val.Value
		case val.Kind == yaml.MappingNode:
			fields, err := mapping(val, where)
			if err != nil {
				return nil, bad
			}
			for _, f := range fields {
				if !slices.Contains(variableKeys, f.key) {
					return nil, unsupported(where+":"+kv.key, f.key, variableKeys)
				}
				fv := resolve(f.value)
				switch f.key {
				case "value":
					if fv.Kind != yaml.ScalarNode || fv.Tag == "!!bool" || fv.Tag == "!!null" {
						return nil, bad
					}
					v.Value = fv.Value
				case "expand":
					if fv.Kind != yaml.ScalarNode || fv.Tag != "!!bool" {
						return nil, ciErrorf("%s:%s expand should be a boolean value", where, kv.key)
					}
					v.Raw = fv.Value == "false"
				}
			}
		default:
			return nil, bad
		}
		out = append(out, v)
	}
	return out, nil
}

// mergeVariables is GitLab's yaml_variables: the global variables, each
// replaced by the job's variable of the same name, then the job's others.
func mergeVariables(global, job []ciVariable) []ciVariable {
	out := []ciVariable{}
	for _, g := range global {
		if !slices.ContainsFunc(job, func(j ciVariable) bool { return j.Key == g.Key }) {
			out = append(out, g)
		}
	}
	return append(out, job...)
}

// durationUnits are the units ChronicDuration (which GitLab parses
// timeouts with) accepts, in seconds.
var durationUnits = map[string]int{
	"s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
	"m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
	"h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
	"d": 86400, "day": 86400, "days": 86400,
	"w": 604800, "week": 604800, "weeks": 604800,
}

// parseCIDuration reads a timeout such as "3600", "90 minutes", "1h 30m"
// or "2 hours 10 minutes" into seconds; a bare number is seconds.
func parseCIDuration(s string) (int, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if n, err := strconv.Atoi(s); err == nil && n > 0 {
		return n, nil
	}
	total, i := 0, 0
	for i < len(s) {
		for i < len(s) && (s[i] == ' ' || s[i] == ',') {
			i++
		}
		if i == len(s) {
			break
		}
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if start == i {
			return 0, fmt.Errorf("duration %q: number expected", s)
		}
		n, _ := strconv.Atoi(s[start:i])
		for i < len(s) && s[i] == ' ' {
			i++
		}
		ustart := i
		for i < len(s) && s[i] >= 'a' && s[i] <= 'z' {
			i++
		}
		unit, ok := durationUnits[s[ustart:i]]
		if !ok {
			return 0, fmt.Errorf("duration %q: unknown unit %q", s, s[ustart:i])
		}
		total += n * unit
	}
	if total <= 0 {
		return 0, fmt.Errorf("duration %q is not positive", s)
	}
	return total, nil
}

package provider

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
	comProvider "github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"

	"github.com/glrf/gitlab-runner-fleet/components/fleet"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// construct registers a RunnerFleet for a program in another language. Its
// inputs become a fleet's settings through the settings decoder
// (settings.Decode: a misspelt or mistyped setting is reported as in a
// stack file), the composable ones that are not known yet become the
// component's inputs, and fleet.NewRunnerFleet completes, checks, plans and
// registers the fleet, as for a Go program.
func construct(req p.ConstructRequest) comProvider.ConstructFunc {
	return func(ctx *pulumi.Context, typ, name string, inputs comProvider.ConstructInputs, opts pulumi.ResourceOption) (*comProvider.ConstructResult, error) {
		if typ != fleet.RunnerFleetType {
			return nil, fmt.Errorf("%s: unknown resource type; this package has %s", typ, fleet.RunnerFleetType)
		}
		args, err := fleetArgs(ctx, name, req.Inputs, inputs)
		if err != nil {
			return nil, err
		}
		f, err := fleet.NewRunnerFleet(ctx, name, args, opts)
		if err != nil {
			return nil, err
		}
		return comProvider.NewConstructResult(f)
	}
}

// fleetArgs are the arguments of the fleet the inputs describe. Problems
// are reported all at once, as NewRunnerFleet reports its own.
func fleetArgs(ctx *pulumi.Context, name string, raw property.Map, inputs comProvider.ConstructInputs) (*fleet.RunnerFleetArgs, error) {
	var ps settings.Problems
	pending := map[string]bool{} // composable settings not known yet
	fleetSettings := map[string]any{}
	var gitlabURL string
	var api *settings.APIServerSetting
	for key, v := range raw.AllStable {
		value := plainValue(&ps, key, v, pending)
		switch key {
		case gitlabURLInput:
			if s, ok := value.(string); ok || value == nil {
				gitlabURL = s
			} else {
				ps.Add(key, "must be a string")
			}
		case apiServerInput:
			if value != nil {
				api = &settings.APIServerSetting{}
				ps = append(ps, decode(key, value, api)...)
				ps = append(ps, api.Validate(key)...)
			}
		default:
			fleetSettings[key] = value
		}
	}
	var s settings.FleetSettings
	ps = append(ps, decode("", fleetSettings, &s)...)
	if s.Name == "" {
		s.Name = name
	}

	args := &fleet.RunnerFleetArgs{Settings: s, GitlabURL: gitlabURL}
	if args.GitlabURL == "" {
		args.GitlabURL = settings.GitlabURLFromBaseURL(config.Get(ctx, "gitlab:baseUrl"))
	}
	if api != nil {
		args.APIServer = fleet.StaticAPIServer(api.CIDRs, api.Port)
	}
	// The composable settings not known yet go in as the component's inputs.
	for path := range pending {
		top, rest, _ := strings.Cut(path, ".")
		object, err := input(inputs, top)
		if err != nil {
			return nil, err
		}
		keys := strings.Split(rest, ".")
		switch path {
		case "runner.groupId":
			args.GroupID = wholeNumber(object, path, keys...)
		case "runner.projectId":
			args.ProjectID = wholeNumber(object, path, keys...)
		default: // the cache's bucket
			args.CacheBucket = text(object, path, keys...)
		}
	}

	// The stack settings the fleet names are read from the stack of the
	// program that uses the package, under its project's name, as the Go
	// program reads its own.
	const path = "fleet"
	values, problems := fleet.ReadConfigValues(ctx, ctx.Project(), s.WithDefaults(ctx.Stack()), path)
	for _, p := range problems {
		ps.Add(strings.TrimPrefix(p.Path, path+"."), "%s", p.Message)
	}
	args.ConfigValues = values
	if token, ok := values[s.TokenConfigKey]; ok {
		args.Token = token
	}
	if len(ps) > 0 {
		lines := make([]string, len(ps))
		for i, p := range ps {
			lines[i] = "\n  - " + p.String()
		}
		slices.Sort(lines)
		return nil, fmt.Errorf("RunnerFleet %q: invalid inputs (%d problem(s)); nothing was created:%s", name, len(lines), strings.Join(lines, ""))
	}
	return args, nil
}

// plainValue is a setting's value as the decoder reads it (JSON's types).
// A value that is not known yet is left out, and recorded in pending, where
// the setting may be another resource's output (composable); anywhere else
// it is a problem, as is a secret: a fleet's settings are neither.
func plainValue(ps *settings.Problems, path string, v property.Value, pending map[string]bool) any {
	switch {
	case v.IsComputed() || (composable[path] && v.HasComputed()):
		if composable[path] {
			pending[path] = true
		} else {
			ps.Add(path, "is not known until another resource exists; only %s may be outputs of other resources: give a plain value", strings.Join(slicesSorted(composable), ", "))
		}
		return nil
	case v.Secret():
		ps.Add(path, "is a secret; a fleet's settings are not (secrets come from stack settings the fleet names, such as tokenConfigKey)")
		return nil
	case v.IsNull():
		return nil
	case v.IsBool():
		return v.AsBool()
	case v.IsNumber():
		return v.AsNumber()
	case v.IsString():
		return v.AsString()
	case v.IsArray():
		out := []any{}
		for i, e := range v.AsArray().All {
			out = append(out, plainValue(ps, fmt.Sprintf("%s[%d]", path, i), e, pending))
		}
		return out
	case v.IsMap():
		out := map[string]any{}
		for key, e := range v.AsMap().AllStable {
			value := plainValue(ps, path+"."+key, e, pending)
			if !pending[path+"."+key] {
				out[key] = value
			}
		}
		return out
	}
	ps.Add(path, "must be a plain value (a string, number, boolean, list or object)")
	return nil
}

// decode decodes a plain value with the settings decoder, its problems
// located under path.
func decode(path string, value any, into any) settings.Problems {
	encoded, err := json.Marshal(value)
	if err != nil {
		var ps settings.Problems
		ps.Add(path, "cannot be read: %v", err)
		return ps
	}
	ps := settings.Decode(path, string(encoded), into)
	for i := range ps {
		ps[i].Path = strings.TrimPrefix(ps[i].Path, ".")
	}
	return ps
}

// input is a top-level input as an output: known or not, with the
// dependencies and secrecy it came with.
func input(inputs comProvider.ConstructInputs, key string) (pulumi.Output, error) {
	m, err := inputs.Map()
	if err != nil {
		return nil, err
	}
	return pulumi.ToOutput(m[key]), nil
}

// wholeNumber is the number at keys of an object output; path names it.
func wholeNumber(object pulumi.Output, path string, keys ...string) pulumi.IntOutput {
	return object.ApplyT(func(v any) (int, error) {
		n, ok := nested(v, keys).(float64)
		if !ok || n != float64(int(n)) {
			return 0, fmt.Errorf("%s: must be a whole number, got %v", path, nested(v, keys))
		}
		return int(n), nil
	}).(pulumi.IntOutput)
}

// text is the string at keys of an object output; path names it.
func text(object pulumi.Output, path string, keys ...string) pulumi.StringOutput {
	return object.ApplyT(func(v any) (string, error) {
		s, ok := nested(v, keys).(string)
		if !ok {
			return "", fmt.Errorf("%s: must be a string, got %v", path, nested(v, keys))
		}
		return s, nil
	}).(pulumi.StringOutput)
}

// nested is the value at keys of nested objects, nil where one is missing.
func nested(v any, keys []string) any {
	for _, key := range keys {
		m, _ := v.(map[string]any)
		v = m[key]
	}
	return v
}

func slicesSorted(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

package fleet

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/glrf/gitlab-runner-fleet/components/plan"
	"github.com/glrf/gitlab-runner-fleet/components/runnerconfig"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// preparedArgs are a fleet's arguments once completed and checked: the
// settings with their defaults, a plan (Stack, never nil), and whether the
// API server's addresses are to be read from the cluster.
type preparedArgs struct {
	RunnerFleetArgs
	discoverAPIServer bool
}

// inputStandsIn is the value a group or project id given as an input
// (RunnerFleetArgs.GroupID, ProjectID) takes in the settings the checks
// read: the checks see the id given, and the value itself is checked when
// it is known (checkedID).
const inputStandsIn = 1

// prepare is the call order every fleet goes through, whoever builds it:
// defaults (settings.FleetSettings.WithDefaults, which leaves settings that
// already have theirs as they are), the program's checks of the fleet
// (plan.Check; plan.Plan for a fleet planned alone), then the arguments
// that are the component's own. A fleet the program planned with others
// keeps its part of that plan (Stack). Every problem is reported at once, as
// one error naming the fleet, before anything is registered.
func (given *RunnerFleetArgs) prepare(stack, name string) (*preparedArgs, error) {
	if given == nil {
		return nil, fmt.Errorf("RunnerFleet %q: no arguments; give at least Settings (a name and the runner's type) and GitlabURL", name)
	}
	args := &preparedArgs{RunnerFleetArgs: *given}
	if args.Settings.Name == "" {
		args.Settings.Name = name
	}
	args.Settings = args.Settings.WithDefaults(stack)
	s := args.Settings

	// The checks read the settings with the ids given as inputs standing in.
	var ps settings.Problems
	checked := s
	if args.GroupID != nil {
		if s.Runner.GroupID != 0 {
			ps.Add("runner.groupId", "is given twice, in Settings (%d) and as GroupID; keep one", s.Runner.GroupID)
		}
		checked.Runner.GroupID = inputStandsIn
	}
	if args.ProjectID != nil {
		if s.Runner.ProjectID != 0 {
			ps.Add("runner.projectId", "is given twice, in Settings (%d) and as ProjectID; keep one", s.Runner.ProjectID)
		}
		checked.Runner.ProjectID = inputStandsIn
	}

	if args.CacheBucket != nil {
		switch bucket := cacheBucket(&checked.Cache); {
		case bucket == nil:
			ps.Add("cache.type", "CacheBucket is given, but the cache is not s3, gcs or azure with its settings object; set cache.type and cache.%s", cmp.Or(checked.Cache.Type, "s3"))
		case *bucket != "":
			ps.Add("cache", "the bucket is given twice, in Settings (%q) and as CacheBucket; keep one", *bucket)
		default:
			*bucket = bucketStandsIn
		}
	}

	const path = "fleet"
	if args.Stack == nil {
		plans, problems := plan.Plan([]settings.FleetSettings{checked})
		ps = append(ps, relative(problems, settings.FleetPath(0, checked.Name))...)
		if s.Cluster != "" {
			ps.Add("cluster", "names a cluster of the program's stack settings; a RunnerFleet built alone runs where its Kubernetes provider points (the pulumi.Provider option): leave cluster empty")
		}
		if len(plans) == 1 {
			p := plans[0]
			args.Stack = &StackPart{CreateNamespaces: p.Create, Jobs: p.Jobs}
		}
		args.discoverAPIServer = args.APIServer.CIDRs == nil && s.Network.PoliciesOn()
	} else {
		ps = append(ps, relative(plan.Check(checked, path), path)...)
	}

	ps = append(ps, settings.ValidateGitlabURL("GitlabURL", args.GitlabURL)...)
	if s.TokenConfigKey != "" && args.Token == nil {
		ps.Add("tokenConfigKey", "names an existing runner token: pass its value as Token")
	}
	for _, cv := range s.ConfigValues(path) {
		if cv.Key == s.TokenConfigKey {
			continue // the token comes as Token
		}
		if _, ok := args.ConfigValues[cv.Key]; !ok {
			ps.Add(strings.TrimPrefix(cv.Path, path+"."), "names the value %q: pass it in ConfigValues[%q]", cv.Key, cv.Key)
		}
	}
	if len(ps) > 0 {
		return nil, argsError(name, ps)
	}
	if args.GroupID != nil {
		args.GroupID = checkedID(args.GroupID, "groupId")
	}
	if args.ProjectID != nil {
		args.ProjectID = checkedID(args.ProjectID, "projectId")
	}
	if args.Stack.SharedNamespaces == nil {
		args.Stack.SharedNamespaces = map[string]pulumi.StringInput{}
	}
	return args, nil
}

// bucketStandsIn is the bucket name the checks read for a bucket given as
// an input; the bucket itself is checked once known (renderWithBucket).
const bucketStandsIn = "bucket-given-as-input"

// cacheBucket points to the setting that names the cache's bucket in c, a
// copy of the settings' cache whose objects it copies; nil without one.
func cacheBucket(c *settings.CacheSettings) *string {
	switch {
	case c.Type == "s3" && c.S3 != nil:
		s3 := *c.S3
		c.S3 = &s3
		return &s3.BucketName
	case c.Type == "gcs" && c.GCS != nil:
		gcs := *c.GCS
		c.GCS = &gcs
		return &gcs.BucketName
	case c.Type == "azure" && c.Azure != nil:
		azure := *c.Azure
		c.Azure = &azure
		return &azure.ContainerName
	}
	return nil
}

// renderWithBucket is the runner template with the cache's bucket given as
// an input, once known: checked like the setting, then rendered.
func renderWithBucket(s settings.FleetSettings, bucket string) (string, error) {
	*cacheBucket(&s.Cache) = bucket // prepare checked that there is one
	if ps := relative(plan.Check(s, "fleet"), "fleet"); len(ps) > 0 {
		return "", fmt.Errorf("RunnerFleet %q: the cache bucket given as CacheBucket, %q: %v", s.Name, bucket, ps)
	}
	return runnerconfig.RenderRunnerTemplate(s)
}

// checkedID checks an id given as an input once it is known: the check of
// settings.FleetSettings.Validate for the setting it stands for.
func checkedID(id pulumi.IntInput, setting string) pulumi.IntOutput {
	return id.ToIntOutput().ApplyT(func(v int) (int, error) {
		if v <= 0 {
			return 0, fmt.Errorf("runner.%s: must be a positive GitLab id, got %d", setting, v)
		}
		return v, nil
	}).(pulumi.IntOutput)
}

// relative makes problems found at prefix (a fleet's place in a list of
// fleets) relative to the fleet, which stands alone here.
func relative(ps settings.Problems, prefix string) settings.Problems {
	out := make(settings.Problems, len(ps))
	for i, p := range ps {
		p.Path = strings.TrimPrefix(strings.TrimPrefix(p.Path, prefix), ".")
		if p.Path == "" {
			p.Path = "settings"
		}
		out[i] = p
	}
	return out
}

// argsError lists every problem of a fleet's arguments, sorted by setting.
func argsError(name string, ps settings.Problems) error {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = "\n  - " + p.String()
	}
	slices.Sort(lines)
	lines = slices.Compact(lines)
	return fmt.Errorf("RunnerFleet %q: invalid arguments (%d problem(s)); nothing was created:%s", name, len(lines), strings.Join(lines, ""))
}

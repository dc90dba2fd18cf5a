package gitlabprovider

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// Runner types and access levels GitLab accepts.
var (
	runnerTypes  = []string{"instance_type", "group_type", "project_type"}
	accessLevels = []string{"not_protected", "ref_protected"}
)

// GitLab's limits, checked early so a preview already shows the mistake.
const (
	minMaximumTimeout  = 600
	maxMaintenanceNote = 1024
)

// Property names of UserRunner (the official schema's).
const (
	pRunnerType      = "runnerType"
	pGroupID         = "groupId"
	pProjectID       = "projectId"
	pDescription     = "description"
	pTagLists        = "tagLists"
	pUntagged        = "untagged"
	pLocked          = "locked"
	pPaused          = "paused"
	pAccessLevel     = "accessLevel"
	pMaximumTimeout  = "maximumTimeout"
	pMaintenanceNote = "maintenanceNote"
	pToken           = "token"
)

// inputKeys are the input properties; replaceKeys those whose change
// replaces the runner.
var (
	inputKeys = []string{
		pRunnerType, pGroupID, pProjectID, pDescription, pTagLists, pUntagged, pLocked, pPaused,
		pAccessLevel, pMaximumTimeout, pMaintenanceNote,
	}
	replaceKeys = map[string]bool{pRunnerType: true, pGroupID: true, pProjectID: true}
)

// runnerArgs are decoded UserRunner inputs; nil pointers are inputs left
// out (GitLab then keeps or chooses the value).
type runnerArgs struct {
	RunnerType      string
	GroupID         *int64
	ProjectID       *int64
	Description     *string
	TagLists        *[]string
	Untagged        *bool
	Locked          *bool
	Paused          *bool
	AccessLevel     *string
	MaximumTimeout  *int64
	MaintenanceNote *string
}

// decodeArgs reads and validates inputs. Unknown values (previews) are
// skipped, so validation covers what is known. Every problem is reported,
// each naming its property.
func decodeArgs(props resource.PropertyMap) (runnerArgs, []*pulumirpc.CheckFailure) {
	var a runnerArgs
	var failures []*pulumirpc.CheckFailure
	fail := func(key, format string, args ...any) {
		failures = append(failures, &pulumirpc.CheckFailure{Property: key, Reason: key + " " + fmt.Sprintf(format, args...)})
	}
	known := func(key string) (resource.PropertyValue, bool) {
		v, ok := props[resource.PropertyKey(key)]
		if !ok || plain(v).IsNull() || isUnknown(v) {
			return v, false
		}
		return v, true
	}
	present := func(key string) bool {
		v, ok := props[resource.PropertyKey(key)]
		return ok && !plain(v).IsNull()
	}

	for k := range props {
		if !isInputKey(string(k)) && !strings.HasPrefix(string(k), "__") {
			fail(string(k), "is not a property of UserRunner (it takes %s)", strings.Join(inputKeys, ", "))
		}
	}

	if v, ok := known(pRunnerType); ok {
		s, err := asString(v)
		switch {
		case err != nil:
			fail(pRunnerType, "%v", err)
		case !slices.Contains(runnerTypes, s):
			fail(pRunnerType, "must be one of %s, not %q", strings.Join(runnerTypes, ", "), s)
		default:
			a.RunnerType = s
		}
	} else if !present(pRunnerType) {
		fail(pRunnerType, "is required (one of %s)", strings.Join(runnerTypes, ", "))
	}

	for _, id := range []struct {
		key string
		dst **int64
	}{{pGroupID, &a.GroupID}, {pProjectID, &a.ProjectID}} {
		if v, ok := known(id.key); ok {
			n, err := asInt(v, false)
			if err == nil && n <= 0 {
				err = fmt.Errorf("must be a positive id")
			}
			if err != nil {
				fail(id.key, "%v", err)
			} else {
				*id.dst = &n
			}
		}
	}
	// The official provider's ValidateConfig: each type takes exactly its
	// own id. A value not known yet counts as given.
	switch a.RunnerType {
	case "group_type":
		if !present(pGroupID) {
			fail(pGroupID, "is required when runnerType is group_type")
		}
		if present(pProjectID) {
			fail(pProjectID, "must not be provided when runnerType is group_type")
		}
	case "project_type":
		if !present(pProjectID) {
			fail(pProjectID, "is required when runnerType is project_type")
		}
		if present(pGroupID) {
			fail(pGroupID, "must not be provided when runnerType is project_type")
		}
	case "instance_type":
		if present(pGroupID) || present(pProjectID) {
			fail(pRunnerType, "was set to instance_type, but a project or group ID was provided: those are invalid for an instance runner and must be removed")
		}
	}

	for _, s := range []struct {
		key string
		dst **string
	}{{pDescription, &a.Description}, {pAccessLevel, &a.AccessLevel}, {pMaintenanceNote, &a.MaintenanceNote}} {
		if v, ok := known(s.key); ok {
			str, err := asString(v)
			if err != nil {
				fail(s.key, "%v", err)
				continue
			}
			*s.dst = &str
		}
	}
	if a.AccessLevel != nil && !slices.Contains(accessLevels, *a.AccessLevel) {
		fail(pAccessLevel, "must be one of %s, not %q", strings.Join(accessLevels, ", "), *a.AccessLevel)
	}
	if a.MaintenanceNote != nil && utf8.RuneCountInString(*a.MaintenanceNote) > maxMaintenanceNote {
		fail(pMaintenanceNote, "must be at most %d characters", maxMaintenanceNote)
	}

	for _, b := range []struct {
		key string
		dst **bool
	}{{pUntagged, &a.Untagged}, {pLocked, &a.Locked}, {pPaused, &a.Paused}} {
		if v, ok := known(b.key); ok {
			val, err := asBool(v, false)
			if err != nil {
				fail(b.key, "%v", err)
				continue
			}
			*b.dst = &val
		}
	}

	if v, ok := known(pTagLists); ok {
		tags, err := asStringList(v)
		if err != nil {
			fail(pTagLists, "%v", err)
		} else {
			a.TagLists = &tags
		}
	}

	if v, ok := known(pMaximumTimeout); ok {
		n, err := asInt(v, false)
		switch {
		case err != nil:
			fail(pMaximumTimeout, "%v", err)
		case n < minMaximumTimeout:
			fail(pMaximumTimeout, "must be at least %d seconds (10 minutes), not %d", minMaximumTimeout, n)
		default:
			a.MaximumTimeout = &n
		}
	}

	// GitLab refuses a runner that takes no untagged job and has no tag.
	if a.Untagged != nil && !*a.Untagged && !isUnknownKey(props, pTagLists) && (a.TagLists == nil || len(*a.TagLists) == 0) {
		fail(pTagLists, "must not be empty when untagged is false (GitLab: tags can not be empty when the runner does not pick untagged jobs)")
	}
	sort.SliceStable(failures, func(i, j int) bool { return failures[i].Property < failures[j].Property })
	return a, failures
}

func isUnknownKey(props resource.PropertyMap, key string) bool {
	v, ok := props[resource.PropertyKey(key)]
	return ok && isUnknown(v)
}

func isInputKey(k string) bool { return slices.Contains(inputKeys, k) }

// createOptions are the POST /user/runners parameters for a, as the
// official provider sends them: the type, the group or project id, and every
// setting that is set (a maximumTimeout of 0 is never sent).
func (a runnerArgs) createOptions() *gitlab.CreateUserRunnerOptions {
	u := a.updateOptions()
	return &gitlab.CreateUserRunnerOptions{
		RunnerType: &a.RunnerType, GroupID: a.GroupID, ProjectID: a.ProjectID,
		Description: u.Description, Paused: u.Paused, Locked: u.Locked, RunUntagged: u.RunUntagged,
		TagList: u.TagList, AccessLevel: u.AccessLevel, MaximumTimeout: u.MaximumTimeout,
		MaintenanceNote: u.MaintenanceNote,
	}
}

// updateOptions are the PUT /runners/:id attributes: the settings that are set.
func (a runnerArgs) updateOptions() *gitlab.UpdateRunnerDetailsOptions {
	o := &gitlab.UpdateRunnerDetailsOptions{
		Description: a.Description, Paused: a.Paused, Locked: a.Locked, RunUntagged: a.Untagged,
		TagList: a.TagLists, AccessLevel: a.AccessLevel, MaintenanceNote: a.MaintenanceNote,
	}
	if a.MaximumTimeout != nil && *a.MaximumTimeout > 0 {
		o.MaximumTimeout = a.MaximumTimeout
	}
	return o
}

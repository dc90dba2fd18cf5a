package gitlab

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Access levels of group and project members, as GitLab numbers them.
const (
	AccessGuest      = 10
	AccessReporter   = 20
	AccessDeveloper  = 30
	AccessMaintainer = 40
	AccessOwner      = 50
)

// accessLevels maps the role names a seed file uses to GitLab's levels.
var accessLevels = map[string]int{
	"guest": AccessGuest, "reporter": AccessReporter, "developer": AccessDeveloper,
	"maintainer": AccessMaintainer, "owner": AccessOwner,
}

// Seed is what the stand-in's GitLab holds before any request: users, groups
// with their members, projects with theirs, and optionally personal access
// tokens. It is configuration, not state: runners and the tokens minted
// through the API live in the state file.
type Seed struct {
	Users    []SeedUser    `json:"users"`
	Groups   []SeedGroup   `json:"groups"`
	Projects []SeedProject `json:"projects"`
	// Tokens are personal access tokens of seed users (the --token-file
	// administrator token and --token flags come on top).
	Tokens []PersonalAccessToken `json:"tokens,omitempty"`
}

// SeedUser is a user; Admin makes it an instance administrator.
type SeedUser struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	Name     string `json:"name"`
	Admin    bool   `json:"admin,omitempty"`
}

// SeedMember gives a user (by username) a role: guest, reporter, developer,
// maintainer or owner.
type SeedMember struct {
	User string `json:"user"`
	Role string `json:"role"`
}

// SeedGroup is a group (private, as GitLab creates them by default); a
// subgroup names its parent.
type SeedGroup struct {
	ID       int64        `json:"id"`
	Path     string       `json:"path"`
	Name     string       `json:"name"`
	ParentID int64        `json:"parent_id,omitempty"`
	Members  []SeedMember `json:"members,omitempty"`
}

// SeedProject is a private project in a group.
type SeedProject struct {
	ID      int64        `json:"id"`
	Path    string       `json:"path"`
	Name    string       `json:"name"`
	GroupID int64        `json:"group_id"`
	Members []SeedMember `json:"members,omitempty"`
	// DefaultBranch is the repository's default branch; empty is "main".
	DefaultBranch string `json:"default_branch,omitempty"`
	// ProtectedBranches are the branch names or wildcards (release/*)
	// protected when the stand-in first uses the project; nil protects the
	// default branch alone, as GitLab does when it creates a project. Later
	// changes go through the protected branches API and are state.
	ProtectedBranches *[]string `json:"protected_branches,omitempty"`
}

// Usernames of the default seed.
const (
	UserRoot              = "root"
	UserGroupOwner        = "group-owner"
	UserProjectMaintainer = "project-maintainer"
	UserDeveloper         = "developer"
)

// Ids of the default seed.
const (
	// DevGroupID is the group of the dev stack (Pulumi.dev.yaml).
	DevGroupID = 1
	// PoolLastID is the last group and project id of the default seed:
	// groups 1-999 and projects 1-999 exist, higher ids do not.
	PoolLastID = 999
)

// DefaultSeed is the instance the stand-in starts with when no seed file is
// given:
//
//   - root (id 1) is the administrator (the --token-file token is root's);
//     group-owner (2) owns every group; project-maintainer (3) is a
//     Maintainer of every project and a member of no group; developer (4) is
//     a Developer in group 1 and so may read it but create no runner;
//   - group 1 "glrf-dev" is the dev stack's group; groups 2-999
//     ("pool-N") are for test stacks, which each take their own group id;
//   - projects 1-999 ("glrf-dev/project-N") live in group 1; their
//     default branch is main, protected.
//
// Group and project ids from 1000 on do not exist.
func DefaultSeed() *Seed {
	s := &Seed{Users: []SeedUser{
		{ID: 1, Username: UserRoot, Name: "Administrator", Admin: true},
		{ID: 2, Username: UserGroupOwner, Name: "Group Owner"},
		{ID: 3, Username: UserProjectMaintainer, Name: "Project Maintainer"},
		{ID: 4, Username: UserDeveloper, Name: "Developer"},
	}}
	owner := SeedMember{User: UserGroupOwner, Role: "owner"}
	s.Groups = append(s.Groups, SeedGroup{ID: DevGroupID, Path: "glrf-dev", Name: "Runner fleet development",
		Members: []SeedMember{owner, {User: UserDeveloper, Role: "developer"}}})
	for id := int64(2); id <= PoolLastID; id++ {
		s.Groups = append(s.Groups, SeedGroup{ID: id, Path: fmt.Sprintf("pool-%d", id), Name: fmt.Sprintf("Pool %d", id),
			Members: []SeedMember{owner}})
	}
	for id := int64(1); id <= PoolLastID; id++ {
		s.Projects = append(s.Projects, SeedProject{ID: id, Path: fmt.Sprintf("project-%d", id),
			Name: fmt.Sprintf("Project %d", id), GroupID: DevGroupID,
			Members: []SeedMember{{User: UserProjectMaintainer, Role: "maintainer"}}})
	}
	return s
}

// LoadSeed reads a seed file (JSON, the shape of Seed).
func LoadSeed(path string) (*Seed, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Seed
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("seed %s: %w", path, err)
	}
	return &s, nil
}

// user, group and project are the directory the seed builds.
type user struct {
	ID       int64
	Username string
	Name     string
	Admin    bool
}

type group struct {
	ID       int64
	Path     string
	Name     string
	ParentID int64
	Members  map[int64]int // user id -> access level
}

type project struct {
	ID                int64
	Path              string
	Name              string
	GroupID           int64
	Members           map[int64]int
	DefaultBranch     string
	ProtectedBranches []string
}

// directory is the seed, checked and indexed.
type directory struct {
	users    map[int64]*user
	byName   map[string]*user
	groups   map[int64]*group
	projects map[int64]*project
}

// newDirectory checks a seed: unique ids and names, members that exist with
// known roles, parents and groups that exist, no parent cycle.
func newDirectory(s *Seed) (*directory, error) {
	d := &directory{users: map[int64]*user{}, byName: map[string]*user{}, groups: map[int64]*group{}, projects: map[int64]*project{}}
	for _, u := range s.Users {
		if u.ID <= 0 || u.Username == "" {
			return nil, fmt.Errorf("seed: user %q needs a positive id and a username", u.Username)
		}
		if d.users[u.ID] != nil || d.byName[u.Username] != nil {
			return nil, fmt.Errorf("seed: user %d %q appears twice", u.ID, u.Username)
		}
		nu := &user{ID: u.ID, Username: u.Username, Name: u.Name, Admin: u.Admin}
		if nu.Name == "" {
			nu.Name = u.Username
		}
		d.users[u.ID], d.byName[u.Username] = nu, nu
	}
	members := func(what string, list []SeedMember) (map[int64]int, error) {
		out := map[int64]int{}
		for _, m := range list {
			u := d.byName[m.User]
			if u == nil {
				return nil, fmt.Errorf("seed: %s: member %q is not a user", what, m.User)
			}
			level, ok := accessLevels[m.Role]
			if !ok {
				return nil, fmt.Errorf("seed: %s: role %q of %s is not guest, reporter, developer, maintainer or owner", what, m.Role, m.User)
			}
			out[u.ID] = level
		}
		return out, nil
	}
	for _, g := range s.Groups {
		if g.ID <= 0 || g.Path == "" {
			return nil, fmt.Errorf("seed: group %q needs a positive id and a path", g.Path)
		}
		if d.groups[g.ID] != nil {
			return nil, fmt.Errorf("seed: group %d appears twice", g.ID)
		}
		m, err := members(fmt.Sprintf("group %d", g.ID), g.Members)
		if err != nil {
			return nil, err
		}
		d.groups[g.ID] = &group{ID: g.ID, Path: g.Path, Name: orString(g.Name, g.Path), ParentID: g.ParentID, Members: m}
	}
	for _, g := range d.groups {
		seen := map[int64]bool{}
		for p := g; p.ParentID != 0; p = d.groups[p.ParentID] {
			if d.groups[p.ParentID] == nil {
				return nil, fmt.Errorf("seed: group %d: parent %d does not exist", p.ID, p.ParentID)
			}
			if seen[p.ID] {
				return nil, fmt.Errorf("seed: group %d is its own ancestor", g.ID)
			}
			seen[p.ID] = true
		}
	}
	for _, p := range s.Projects {
		if p.ID <= 0 || p.Path == "" {
			return nil, fmt.Errorf("seed: project %q needs a positive id and a path", p.Path)
		}
		if d.projects[p.ID] != nil {
			return nil, fmt.Errorf("seed: project %d appears twice", p.ID)
		}
		if d.groups[p.GroupID] == nil {
			return nil, fmt.Errorf("seed: project %d: group %d does not exist", p.ID, p.GroupID)
		}
		m, err := members(fmt.Sprintf("project %d", p.ID), p.Members)
		if err != nil {
			return nil, err
		}
		np := &project{ID: p.ID, Path: p.Path, Name: orString(p.Name, p.Path), GroupID: p.GroupID, Members: m,
			DefaultBranch: orString(p.DefaultBranch, "main")}
		np.ProtectedBranches = []string{np.DefaultBranch}
		if p.ProtectedBranches != nil {
			np.ProtectedBranches = slices.Clone(*p.ProtectedBranches)
		}
		for _, b := range np.ProtectedBranches {
			if strings.TrimSpace(b) == "" {
				return nil, fmt.Errorf("seed: project %d: a protected branch name is empty", p.ID)
			}
		}
		d.projects[p.ID] = np
	}
	return d, nil
}

func orString(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// ancestors are g and its parents, nearest first.
func (d *directory) ancestors(g *group) []*group {
	var out []*group
	for ; g != nil; g = d.groups[g.ParentID] {
		out = append(out, g)
		if g.ParentID == 0 {
			break
		}
	}
	return out
}

// groupAccess is u's access level in g: the highest of its memberships in g
// and g's ancestors (0 for none). Administrators are not special here.
func (d *directory) groupAccess(u *user, g *group) int {
	level := 0
	for _, a := range d.ancestors(g) {
		level = max(level, a.Members[u.ID])
	}
	return level
}

// projectAccess is u's access level in p: its own membership or that in the
// project's group (a group Owner owns its projects).
func (d *directory) projectAccess(u *user, p *project) int {
	return max(p.Members[u.ID], d.groupAccess(u, d.groups[p.GroupID]))
}

// fullPath is a group's path with its parents'.
func (d *directory) fullPath(g *group) string {
	parts := []string{}
	for _, a := range d.ancestors(g) {
		parts = append([]string{a.Path}, parts...)
	}
	return strings.Join(parts, "/")
}

// fullName is the same with names.
func (d *directory) fullName(g *group) string {
	parts := []string{}
	for _, a := range d.ancestors(g) {
		parts = append([]string{a.Name}, parts...)
	}
	return strings.Join(parts, " / ")
}

// canSeeGroup: administrators see every group, members theirs (groups are
// private; a member of a subgroup does not see the parent here).
func (d *directory) canSeeGroup(u *user, g *group) bool {
	return u.Admin || d.groupAccess(u, g) > 0
}

func (d *directory) canSeeProject(u *user, p *project) bool {
	return u.Admin || d.projectAccess(u, p) > 0
}

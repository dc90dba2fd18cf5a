package gitlab

import (
	"slices"
	"time"
)

// The JSON shapes below are the ones GitLab's REST API documents; field names
// and null-ness match so that real API clients (the pulumi-gitlab provider,
// go-gitlab, gitlab-runner) read them unchanged.

// createdRunnerJSON answers POST /user/runners and POST /runners/verify.
type createdRunnerJSON struct {
	ID             int64   `json:"id"`
	Token          string  `json:"token"`
	TokenExpiresAt *string `json:"token_expires_at"`
}

// userJSON is the current user (GET /user, with is_admin for an
// administrator, as GitLab's UserWithAdmin) and a runner's created_by.
type userJSON struct {
	ID        int64   `json:"id"`
	Username  string  `json:"username"`
	Name      string  `json:"name"`
	State     string  `json:"state"`
	Locked    bool    `json:"locked"`
	AvatarURL *string `json:"avatar_url"`
	WebURL    string  `json:"web_url"`
	CreatedAt string  `json:"created_at,omitempty"`
	IsAdmin   *bool   `json:"is_admin,omitempty"`
	Bot       *bool   `json:"bot,omitempty"`
	Email     string  `json:"email,omitempty"`
}

// runnerGroupJSON and runnerProjectJSON are how runner details list a
// runner's owners.
type runnerGroupJSON struct {
	ID     int64  `json:"id"`
	WebURL string `json:"web_url"`
	Name   string `json:"name"`
}

type runnerProjectJSON struct {
	ID                int64  `json:"id"`
	Description       string `json:"description"`
	Name              string `json:"name"`
	NameWithNamespace string `json:"name_with_namespace"`
	Path              string `json:"path"`
	PathWithNamespace string `json:"path_with_namespace"`
	CreatedAt         string `json:"created_at"`
}

// groupJSON answers GET /groups/:id.
type groupJSON struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Path        string `json:"path"`
	Description string `json:"description"`
	Visibility  string `json:"visibility"`
	FullName    string `json:"full_name"`
	FullPath    string `json:"full_path"`
	ParentID    *int64 `json:"parent_id"`
	WebURL      string `json:"web_url"`
}

// namespaceJSON is a project's namespace.
type namespaceJSON struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	Path     string `json:"path"`
	Kind     string `json:"kind"`
	FullPath string `json:"full_path"`
	WebURL   string `json:"web_url"`
}

// projectJSON answers GET /projects/:id.
type projectJSON struct {
	ID                int64         `json:"id"`
	Description       *string       `json:"description"`
	Name              string        `json:"name"`
	NameWithNamespace string        `json:"name_with_namespace"`
	Path              string        `json:"path"`
	PathWithNamespace string        `json:"path_with_namespace"`
	Visibility        string        `json:"visibility"`
	WebURL            string        `json:"web_url"`
	Namespace         namespaceJSON `json:"namespace"`
}

// personalAccessTokenJSON answers POST /users/:id/personal_access_tokens.
type personalAccessTokenJSON struct {
	ID         int64    `json:"id"`
	Name       string   `json:"name"`
	Revoked    bool     `json:"revoked"`
	CreatedAt  string   `json:"created_at"`
	Scopes     []string `json:"scopes"`
	UserID     int64    `json:"user_id"`
	LastUsedAt *string  `json:"last_used_at"`
	Active     bool     `json:"active"`
	ExpiresAt  string   `json:"expires_at"`
	Token      string   `json:"token"`
}

// runnerBriefJSON is an entry of GET /runners/all.
type runnerBriefJSON struct {
	ID          int64   `json:"id"`
	Description string  `json:"description"`
	IPAddress   *string `json:"ip_address"`
	Active      bool    `json:"active"`
	Paused      bool    `json:"paused"`
	IsShared    bool    `json:"is_shared"`
	RunnerType  string  `json:"runner_type"`
	Name        *string `json:"name"`
	// Online is null for a runner that never contacted GitLab.
	Online *bool  `json:"online"`
	Status string `json:"status"`
	// CreatedBy and CreatedAt are in list entries since GitLab 17.
	CreatedBy *userJSON `json:"created_by"`
	CreatedAt string    `json:"created_at"`
}

// runnerDetailsJSON answers GET and PUT /runners/:id.
type runnerDetailsJSON struct {
	runnerBriefJSON
	TagList            []string            `json:"tag_list"`
	RunUntagged        bool                `json:"run_untagged"`
	Locked             bool                `json:"locked"`
	MaximumTimeout     *int64              `json:"maximum_timeout"`
	AccessLevel        string              `json:"access_level"`
	MaintenanceNote    *string             `json:"maintenance_note"`
	ContactedAt        *string             `json:"contacted_at"`
	Architecture       *string             `json:"architecture"`
	Platform           *string             `json:"platform"`
	Revision           *string             `json:"revision"`
	Version            *string             `json:"version"`
	JobExecutionStatus string              `json:"job_execution_status"`
	Groups             []runnerGroupJSON   `json:"groups"`
	Projects           []runnerProjectJSON `json:"projects"`
}

// managerJSON is an entry of GET /runners/:id/managers.
type managerJSON struct {
	ID                 int64   `json:"id"`
	SystemID           string  `json:"system_id"`
	Version            *string `json:"version"`
	Revision           *string `json:"revision"`
	Platform           *string `json:"platform"`
	Architecture       *string `json:"architecture"`
	CreatedAt          string  `json:"created_at"`
	ContactedAt        *string `json:"contacted_at"`
	IPAddress          *string `json:"ip_address"`
	Status             string  `json:"status"`
	JobExecutionStatus string  `json:"job_execution_status"`
}

// versionJSON answers GET /version.
type versionJSON struct {
	Version    string `json:"version"`
	Revision   string `json:"revision"`
	Enterprise bool   `json:"enterprise"`
}

// apiTime formats a time the way GitLab does (UTC, milliseconds).
func apiTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s *Server) userJSON(u *user, self bool) userJSON {
	j := userJSON{
		ID: u.ID, Username: u.Username, Name: u.Name, State: "active",
		WebURL: s.webURL(u.Username),
	}
	if self {
		j.CreatedAt = apiTime(s.started)
		j.Email = u.Username + "@example.com"
		no := false
		j.Bot = &no
		if u.Admin {
			yes := true
			j.IsAdmin = &yes
		}
	}
	return j
}

func (s *Server) briefJSON(r *runner) runnerBriefJSON {
	now := s.now()
	b := runnerBriefJSON{
		ID: r.ID, Description: r.Description, Active: !r.Paused, Paused: r.Paused,
		IsShared: r.RunnerType == RunnerTypeInstance, RunnerType: r.RunnerType,
		Online: r.online(now), Status: r.status(now), CreatedAt: apiTime(r.CreatedAt),
	}
	if u := s.dir.users[r.CreatedByUserID]; u != nil {
		c := s.userJSON(u, false)
		b.CreatedBy = &c
	}
	if latest := latestManager(r); latest != nil {
		b.IPAddress = optString(latest.IPAddress)
	}
	return b
}

func (s *Server) groupJSON(g *group) groupJSON {
	j := groupJSON{ID: g.ID, Name: g.Name, Path: g.Path, Visibility: "private", FullName: s.dir.fullName(g),
		FullPath: s.dir.fullPath(g), WebURL: s.webURL("groups/" + s.dir.fullPath(g))}
	if g.ParentID != 0 {
		parent := g.ParentID
		j.ParentID = &parent
	}
	return j
}

func (s *Server) projectJSON(p *project) projectJSON {
	g := s.dir.groups[p.GroupID]
	return projectJSON{
		ID: p.ID, Name: p.Name, Path: p.Path, Visibility: "private",
		NameWithNamespace: s.dir.fullName(g) + " / " + p.Name,
		PathWithNamespace: s.dir.fullPath(g) + "/" + p.Path,
		WebURL:            s.webURL(s.dir.fullPath(g) + "/" + p.Path),
		Namespace: namespaceJSON{ID: g.ID, Name: g.Name, Path: g.Path, Kind: "group",
			FullPath: s.dir.fullPath(g), WebURL: s.webURL("groups/" + s.dir.fullPath(g))},
	}
}

func (s *Server) detailsJSON(r *runner) runnerDetailsJSON {
	d := runnerDetailsJSON{
		runnerBriefJSON: s.briefJSON(r),
		TagList:         append([]string{}, r.TagList...),
		RunUntagged:     r.RunUntagged,
		Locked:          r.Locked,
		MaximumTimeout:  r.MaximumTimeout,
		AccessLevel:     r.AccessLevel,
		MaintenanceNote: optString(r.MaintenanceNote),
		// A group or project runner lists its owner; GitLab shows these
		// lists empty (not null) for the other runner types.
		Groups:             []runnerGroupJSON{},
		Projects:           []runnerProjectJSON{},
		JobExecutionStatus: "idle",
	}
	if slices.ContainsFunc(s.st.Jobs, func(j *job) bool { return j.RunnerID == r.ID && j.executing() }) {
		d.JobExecutionStatus = "active"
	}
	if r.ContactedAt != nil {
		t := apiTime(*r.ContactedAt)
		d.ContactedAt = &t
	}
	if latest := latestManager(r); latest != nil {
		d.Architecture = optString(latest.Architecture)
		d.Platform = optString(latest.Platform)
		d.Revision = optString(latest.Revision)
		d.Version = optString(latest.Version)
	}
	switch r.RunnerType {
	case RunnerTypeGroup:
		if g := s.dir.groups[r.GroupID]; g != nil {
			d.Groups = append(d.Groups, runnerGroupJSON{ID: g.ID, Name: g.Name, WebURL: s.webURL("groups/" + s.dir.fullPath(g))})
		}
	case RunnerTypeProject:
		for _, id := range r.projectIDs() {
			if p := s.dir.projects[id]; p != nil {
				pj := s.projectJSON(p)
				d.Projects = append(d.Projects, runnerProjectJSON{
					ID: p.ID, Name: p.Name, NameWithNamespace: pj.NameWithNamespace,
					Path: p.Path, PathWithNamespace: pj.PathWithNamespace, CreatedAt: apiTime(s.started),
				})
			}
		}
	}
	return d
}

// managerJSONLocked is managerJSON with the manager's job execution
// status; the caller holds s.mu.
func (s *Server) managerJSONLocked(m *manager) managerJSON {
	j := s.managerJSON(m)
	if slices.ContainsFunc(s.st.Jobs, func(jb *job) bool { return jb.ManagerID == m.ID && jb.executing() }) {
		j.JobExecutionStatus = "active"
	}
	return j
}

func (s *Server) managerJSON(m *manager) managerJSON {
	c := apiTime(m.ContactedAt)
	return managerJSON{
		ID: m.ID, SystemID: m.SystemID,
		Version: optString(m.Version), Revision: optString(m.Revision),
		Platform: optString(m.Platform), Architecture: optString(m.Architecture),
		CreatedAt: apiTime(m.CreatedAt), ContactedAt: &c, IPAddress: optString(m.IPAddress),
		Status: m.status(s.now()), JobExecutionStatus: "idle",
	}
}

// latestManager is the manager that contacted GitLab last, or nil.
func latestManager(r *runner) *manager {
	var latest *manager
	for _, m := range r.Managers {
		if latest == nil || m.ContactedAt.After(latest.ContactedAt) {
			latest = m
		}
	}
	return latest
}

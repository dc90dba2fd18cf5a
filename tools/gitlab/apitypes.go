package gitlab

import (
	"fmt"
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

// userJSON is the current user (GET /user) and a runner's created_by.
type userJSON struct {
	ID        int64   `json:"id"`
	Username  string  `json:"username"`
	Name      string  `json:"name"`
	State     string  `json:"state"`
	Locked    bool    `json:"locked"`
	AvatarURL *string `json:"avatar_url"`
	WebURL    string  `json:"web_url"`
	CreatedAt string  `json:"created_at,omitempty"`
	IsAdmin   bool    `json:"is_admin"`
	Bot       bool    `json:"bot"`
	Email     string  `json:"email,omitempty"`
}

// groupJSON and projectJSON are how runner details list a runner's owners.
type groupJSON struct {
	ID     int64  `json:"id"`
	WebURL string `json:"web_url"`
	Name   string `json:"name"`
}

type projectJSON struct {
	ID                int64  `json:"id"`
	Description       string `json:"description"`
	Name              string `json:"name"`
	NameWithNamespace string `json:"name_with_namespace"`
	Path              string `json:"path"`
	PathWithNamespace string `json:"path_with_namespace"`
	CreatedAt         string `json:"created_at"`
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
	Online      bool    `json:"online"`
	Status      string  `json:"status"`
}

// runnerDetailsJSON answers GET and PUT /runners/:id.
type runnerDetailsJSON struct {
	runnerBriefJSON
	CreatedBy          userJSON      `json:"created_by"`
	CreatedAt          string        `json:"created_at"`
	TagList            []string      `json:"tag_list"`
	RunUntagged        bool          `json:"run_untagged"`
	Locked             bool          `json:"locked"`
	MaximumTimeout     *int64        `json:"maximum_timeout"`
	AccessLevel        string        `json:"access_level"`
	MaintenanceNote    *string       `json:"maintenance_note"`
	ContactedAt        *string       `json:"contacted_at"`
	Architecture       *string       `json:"architecture"`
	Platform           *string       `json:"platform"`
	Revision           *string       `json:"revision"`
	Version            *string       `json:"version"`
	JobExecutionStatus string        `json:"job_execution_status"`
	Groups             []groupJSON   `json:"groups"`
	Projects           []projectJSON `json:"projects"`
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

func (s *Server) userJSON() userJSON {
	return userJSON{
		ID: adminUserID, Username: "root", Name: "Administrator", State: "active",
		WebURL: s.webURL("root"), CreatedAt: apiTime(s.started), IsAdmin: true,
		Email: "admin@example.com",
	}
}

func (s *Server) briefJSON(r *runner) runnerBriefJSON {
	st := r.status(s.now())
	return runnerBriefJSON{
		ID: r.ID, Description: r.Description, Active: !r.Paused, Paused: r.Paused,
		IsShared: r.RunnerType == RunnerTypeInstance, RunnerType: r.RunnerType,
		Online: st == "online", Status: st,
	}
}

func (s *Server) detailsJSON(r *runner) runnerDetailsJSON {
	d := runnerDetailsJSON{
		runnerBriefJSON: s.briefJSON(r),
		CreatedBy:       s.userJSON(),
		CreatedAt:       apiTime(r.CreatedAt),
		TagList:         append([]string{}, r.TagList...),
		RunUntagged:     r.RunUntagged,
		Locked:          r.Locked,
		MaximumTimeout:  r.MaximumTimeout,
		AccessLevel:     r.AccessLevel,
		MaintenanceNote: optString(r.MaintenanceNote),
		// A group or project runner lists its owner; GitLab shows these
		// lists empty (not null) for the other runner types.
		Groups:             []groupJSON{},
		Projects:           []projectJSON{},
		JobExecutionStatus: "idle",
	}
	if c := r.contactedAt(); c != nil {
		t := apiTime(*c)
		d.ContactedAt = &t
	}
	if latest := latestManager(r); latest != nil {
		d.IPAddress = optString(latest.IPAddress)
		d.Architecture = optString(latest.Architecture)
		d.Platform = optString(latest.Platform)
		d.Revision = optString(latest.Revision)
		d.Version = optString(latest.Version)
	}
	switch r.RunnerType {
	case RunnerTypeGroup:
		name := fmt.Sprintf("group-%d", r.GroupID)
		d.Groups = append(d.Groups, groupJSON{ID: r.GroupID, Name: name, WebURL: s.webURL("groups/" + name)})
	case RunnerTypeProject:
		path := fmt.Sprintf("project-%d", r.ProjectID)
		d.Projects = append(d.Projects, projectJSON{
			ID: r.ProjectID, Name: path, NameWithNamespace: "root / " + path,
			Path: path, PathWithNamespace: "root/" + path, CreatedAt: apiTime(s.started),
		})
	}
	return d
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

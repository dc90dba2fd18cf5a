package gitlab

import "time"

// Runner types, access levels and statuses as GitLab spells them.
const (
	RunnerTypeInstance = "instance_type"
	RunnerTypeGroup    = "group_type"
	RunnerTypeProject  = "project_type"

	AccessNotProtected = "not_protected"
	AccessRefProtected = "ref_protected"

	// minMaximumTimeout is GitLab's lower bound for maximum_timeout (10 minutes).
	minMaximumTimeout = 600
	// maxMaintenanceNote is GitLab's limit on maintenance_note.
	maxMaintenanceNote = 1024
	// onlineWindow is how recently a manager must have contacted GitLab for
	// its runner to count as online (GitLab uses 2 hours).
	onlineWindow = 2 * time.Hour
)

// runner is one runner as the stand-in stores it (and persists it).
type runner struct {
	ID              int64      `json:"id"`
	TokenSHA256     string     `json:"token_sha256"`
	RunnerType      string     `json:"runner_type"`
	GroupID         int64      `json:"group_id,omitempty"`
	ProjectID       int64      `json:"project_id,omitempty"`
	Description     string     `json:"description"`
	Paused          bool       `json:"paused"`
	Locked          bool       `json:"locked"`
	RunUntagged     bool       `json:"run_untagged"`
	TagList         []string   `json:"tag_list"`
	AccessLevel     string     `json:"access_level"`
	MaximumTimeout  *int64     `json:"maximum_timeout"`
	MaintenanceNote string     `json:"maintenance_note"`
	CreatedAt       time.Time  `json:"created_at"`
	CreatedByUserID int64      `json:"created_by_user_id"`
	Managers        []*manager `json:"managers"`
}

// manager is one runner manager: a gitlab-runner process, told apart by its
// system_id, that authenticated with the runner's token.
type manager struct {
	ID           int64     `json:"id"`
	SystemID     string    `json:"system_id"`
	Version      string    `json:"version,omitempty"`
	Revision     string    `json:"revision,omitempty"`
	Platform     string    `json:"platform,omitempty"`
	Architecture string    `json:"architecture,omitempty"`
	IPAddress    string    `json:"ip_address,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	ContactedAt  time.Time `json:"contacted_at"`
}

// contactedAt is the latest contact of any of the runner's managers.
func (r *runner) contactedAt() *time.Time {
	var latest *time.Time
	for _, m := range r.Managers {
		if latest == nil || m.ContactedAt.After(*latest) {
			t := m.ContactedAt
			latest = &t
		}
	}
	return latest
}

// status is GitLab's runner status: never_contacted, online or offline.
func (r *runner) status(now time.Time) string {
	c := r.contactedAt()
	switch {
	case c == nil:
		return "never_contacted"
	case now.Sub(*c) <= onlineWindow:
		return "online"
	default:
		return "offline"
	}
}

// managerStatus mirrors runner status for one manager.
func (m *manager) status(now time.Time) string {
	if now.Sub(m.ContactedAt) <= onlineWindow {
		return "online"
	}
	return "offline"
}

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
	// onlineWindow is how recently a runner must have contacted GitLab to
	// count as online (GitLab's ONLINE_CONTACT_TIMEOUT, 2 hours).
	onlineWindow = 2 * time.Hour
	// staleTimeout is how long a runner may go without contact, counted
	// from its creation or last contact, before it is stale (STALE_TIMEOUT).
	staleTimeout = 7 * 24 * time.Hour
)

// runner is one runner as the stand-in stores it (and persists it).
type runner struct {
	ID              int64     `json:"id"`
	TokenSHA256     string    `json:"token_sha256"`
	RunnerType      string    `json:"runner_type"`
	GroupID         int64     `json:"group_id,omitempty"`
	ProjectID       int64     `json:"project_id,omitempty"`
	Description     string    `json:"description"`
	Paused          bool      `json:"paused"`
	Locked          bool      `json:"locked"`
	RunUntagged     bool      `json:"run_untagged"`
	TagList         []string  `json:"tag_list"`
	AccessLevel     string    `json:"access_level"`
	MaximumTimeout  *int64    `json:"maximum_timeout"`
	MaintenanceNote string    `json:"maintenance_note"`
	CreatedAt       time.Time `json:"created_at"`
	CreatedByUserID int64     `json:"created_by_user_id"`
	// ContactedAt is the runner's last contact (verify, job request); nil
	// when it never contacted GitLab.
	ContactedAt *time.Time `json:"contacted_at,omitempty"`
	Managers    []*manager `json:"managers"`
	// AssignedProjectIDs are the projects a project runner was assigned to
	// besides its own (POST /projects/:id/runners).
	AssignedProjectIDs []int64 `json:"assigned_project_ids,omitempty"`
}

// projectIDs are the projects a project runner serves: its own first.
func (r *runner) projectIDs() []int64 {
	if r.RunnerType != RunnerTypeProject {
		return nil
	}
	return append([]int64{r.ProjectID}, r.AssignedProjectIDs...)
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

// contact records a contact of the runner (GitLab's heartbeat).
func (r *runner) contact(now time.Time) {
	t := now
	r.ContactedAt = &t
}

// stale is GitLab's Ci::Runner#stale?: neither created nor contacted within
// the stale timeout.
func (r *runner) stale(now time.Time) bool {
	last := r.CreatedAt
	if r.ContactedAt != nil && r.ContactedAt.After(last) {
		last = *r.ContactedAt
	}
	return !now.Before(last.Add(staleTimeout))
}

// online is the REST API's "online": null for a runner that never
// contacted GitLab, else whether the last contact is recent.
func (r *runner) online(now time.Time) *bool {
	if r.ContactedAt == nil {
		return nil
	}
	on := now.Sub(*r.ContactedAt) <= onlineWindow
	return &on
}

// status is the REST API's runner status (GitLab's deprecated_rest_status,
// which the v4 API still returns): stale, never_contacted, paused for a
// paused runner that has made contact, else online or offline.
func (r *runner) status(now time.Time) string {
	switch {
	case r.stale(now):
		return "stale"
	case r.ContactedAt == nil:
		return "never_contacted"
	case r.Paused:
		return "paused"
	case *r.online(now):
		return "online"
	default:
		return "offline"
	}
}

// managerStatus mirrors runner status for one manager.
func (m *manager) status(now time.Time) string {
	switch {
	case !now.Before(m.ContactedAt.Add(staleTimeout)):
		return "stale"
	case now.Sub(m.ContactedAt) <= onlineWindow:
		return "online"
	default:
		return "offline"
	}
}

package status

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Render writes the fleets' state for people, one block per fleet:
//
//	fleet builds (namespace gitlab-runner-builds)
//	  managers: complete: 2 of 2 managers ready
//	    builds-0  ready        s_0123456789ab  GitLab: online, contacted 12s ago
//	    builds-1  not ready    s_ba9876543210  GitLab: no manager yet
//	  runner 42: online, contacted 12s ago; 1 job running (#7)
//	    https://gitlab.example.com/groups/platform/-/runners/42
//	  token expires: never
func Render(w io.Writer, fleets []Fleet, now time.Time) {
	for i, f := range fleets {
		if i > 0 {
			fmt.Fprintln(w)
		}
		where := "namespace " + f.Namespace
		if f.Cluster != "" {
			where = "cluster " + f.Cluster + ", " + where
		}
		fmt.Fprintf(w, "fleet %s (%s)\n", f.Fleet, where)
		if f.Rollout != nil {
			fmt.Fprintf(w, "  managers: %s\n", f.Rollout)
		}
		for _, m := range f.Managers {
			fmt.Fprintf(w, "    %-*s  %-11s  %s  GitLab: %s\n", podWidth(f.Managers), podName(m), podState(m), m.SystemID, managerInGitlab(m, now))
		}
		if r := f.Runner; r != nil {
			state := r.Status
			if r.Paused {
				state = "paused (takes no new jobs), " + r.Status
			}
			if r.ContactedAt != nil {
				state += ", contacted " + ago(now, *r.ContactedAt)
			}
			fmt.Fprintf(w, "  runner %d: %s; %s\n", r.ID, state, jobsRunning(r.RunningJobs))
		}
		if f.RunnerURL != "" {
			fmt.Fprintf(w, "    %s\n", f.RunnerURL)
		}
		if f.TokenExpiresAt != "" {
			fmt.Fprintf(w, "  token expires: %s\n", f.TokenExpiresAt)
		}
		for _, p := range f.Problems {
			fmt.Fprintf(w, "  ! %s\n", p)
		}
	}
}

func podName(m Manager) string {
	if m.Pod == "" {
		return "(no pod)"
	}
	return m.Pod
}

func podWidth(managers []Manager) int {
	width := len("(no pod)")
	for _, m := range managers {
		width = max(width, len(m.Pod))
	}
	return width
}

func podState(m Manager) string {
	switch {
	case m.Pod == "":
		return "-"
	case m.Stopping:
		return "stopping"
	case m.Ready:
		return "ready"
	}
	return "not ready"
}

func managerInGitlab(m Manager, now time.Time) string {
	switch {
	case !m.InGitlab:
		return "no manager yet"
	case m.ContactedAt == nil:
		return m.Status
	}
	return fmt.Sprintf("%s, contacted %s", m.Status, ago(now, *m.ContactedAt))
}

func jobsRunning(ids []int64) string {
	if len(ids) == 0 {
		return "no job running"
	}
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = fmt.Sprintf("#%d", id)
	}
	noun := "jobs"
	if len(ids) == 1 {
		noun = "job"
	}
	return fmt.Sprintf("%d %s running (%s)", len(ids), noun, strings.Join(names, ", "))
}

// ago says how long before now t was, to the second.
func ago(now, t time.Time) string {
	d := now.Sub(t).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return fmt.Sprintf("%s ago (%s)", d, t.UTC().Format(time.RFC3339))
}

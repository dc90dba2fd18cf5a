package gitlab

import (
	"time"
)

// Pipelines and jobs as the stand-in stores (and persists) them, and the
// status rules that move them: GitLab's Ci::Pipeline, Ci::Build and their
// state machines, reduced to what a runner and the tests observe.

// Job and pipeline statuses, as GitLab spells them (CommitStatus).
const (
	StatusCreated   = "created"
	StatusPending   = "pending"
	StatusRunning   = "running"
	StatusSuccess   = "success"
	StatusFailed    = "failed"
	StatusCanceling = "canceling"
	StatusCanceled  = "canceled"
	StatusSkipped   = "skipped"
)

// jobStatuses are CommitStatus::AVAILABLE_STATUSES, the values the scope
// and status filters accept.
var jobStatuses = []string{"created", "waiting_for_resource", "preparing", "waiting_for_callback", "pending",
	"running", "success", "failed", "canceling", "canceled", "skipped", "manual", "scheduled"}

const (
	// defaultProjectTimeout is a project's default job timeout (GitLab's
	// build_timeout default, 1 hour).
	defaultProjectTimeout = 3600
	// defaultGitDepth is a project's default shallow clone depth
	// (ci_default_git_depth).
	defaultGitDepth = 20
	// acceptTimeout is how long GitLab answers 202 to a final update while
	// the trace is not complete before it applies the update anyway
	// (UpdateBuildStateService::ACCEPT_TIMEOUT).
	acceptTimeout = 5 * time.Minute
	// traceSizeLimit is GitLab's default maximum job log size
	// (ci_jobs_trace_size_limit, 100 MiB); past it the job is dropped.
	traceSizeLimit = 100 << 20
	// zeroSHA is the before_sha of a pipeline created through the API.
	zeroSHA = "0000000000000000000000000000000000000000"
)

// pipeline is one pipeline.
type pipeline struct {
	ID        int64  `json:"id"`
	IID       int64  `json:"iid"`
	ProjectID int64  `json:"project_id"`
	Ref       string `json:"ref"`
	SHA       string `json:"sha"`
	// Protected is whether the ref was protected when the pipeline was
	// created (GitLab's ci_pipelines.protected).
	Protected bool   `json:"protected"`
	Source    string `json:"source"`
	Status    string `json:"status"`
	UserID    int64  `json:"user_id"`
	// Variables are the variables the pipeline was created with.
	Variables  []pipelineVariable `json:"variables,omitempty"`
	CreatedAt  time.Time          `json:"created_at"`
	UpdatedAt  time.Time          `json:"updated_at"`
	StartedAt  *time.Time         `json:"started_at,omitempty"`
	FinishedAt *time.Time         `json:"finished_at,omitempty"`
}

// pipelineVariable is a variable given when creating a pipeline;
// VariableType is env_var or file.
type pipelineVariable struct {
	Key          string `json:"key"`
	Value        string `json:"value"`
	VariableType string `json:"variable_type"`
}

// job is one CI job (GitLab's Ci::Build).
type job struct {
	ID         int64    `json:"id"`
	PipelineID int64    `json:"pipeline_id"`
	ProjectID  int64    `json:"project_id"`
	Spec       *jobSpec `json:"spec"`
	Status     string   `json:"status"`
	UserID     int64    `json:"user_id"`
	// TokenSHA256 is the digest of the job token, issued when a runner
	// picks the job up; the token itself is never stored.
	TokenSHA256 string `json:"token_sha256,omitempty"`
	// RunnerID is the runner the job was given to.
	RunnerID int64 `json:"runner_id,omitempty"`
	// ManagerID is the runner manager running it (set when it runs).
	ManagerID int64 `json:"runner_manager_id,omitempty"`
	// AckManagerID is the manager that was given the job and has not yet
	// confirmed it (two-phase commit: the job stays pending meanwhile).
	AckManagerID int64 `json:"ack_runner_manager_id,omitempty"`
	// CancelGracefully is whether the manager that took the job can cancel
	// it gracefully (its cancel_gracefully feature): a cancel then makes
	// the job canceling until the runner reports, instead of canceled.
	CancelGracefully bool `json:"cancel_gracefully,omitempty"`
	// Timeout is the timeout the runner was given, in seconds.
	Timeout int `json:"timeout,omitempty"`
	// InstanceRunner is whether the runner that took it is an instance
	// runner (for fair scheduling).
	InstanceRunner bool       `json:"instance_runner,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	QueuedAt       *time.Time `json:"queued_at,omitempty"`
	StartedAt      *time.Time `json:"started_at,omitempty"`
	FinishedAt     *time.Time `json:"finished_at,omitempty"`
	FailureReason  string     `json:"failure_reason,omitempty"`
	ExitCode       *int       `json:"exit_code,omitempty"`
	// PendingStateAt is when the runner first reported a final state the
	// stand-in accepted with 202 (GitLab's Ci::BuildPendingState).
	PendingStateAt *time.Time `json:"pending_state_at,omitempty"`
}

// finished reports whether the job's status is final.
func (j *job) finished() bool {
	switch j.Status {
	case StatusSuccess, StatusFailed, StatusCanceled, StatusSkipped:
		return true
	}
	return false
}

// waitingForAck reports whether a runner was given the job and has not yet
// confirmed it (GitLab's runner_ack_wait_status :waiting).
func (j *job) waitingForAck() bool { return j.Status == StatusPending && j.AckManagerID != 0 }

// queued reports whether the job waits for a runner to pick it up.
func (j *job) queued() bool { return j.Status == StatusPending && j.RunnerID == 0 }

// processingOnRunner is GitLab's processing_on_runner? as its job-token
// authentication applies it: running, canceling, or given to a runner that
// has yet to confirm it.
func (j *job) processingOnRunner() bool {
	return j.Status == StatusRunning || j.Status == StatusCanceling || j.waitingForAck()
}

// executing reports whether a runner is executing the job (its
// job_execution_status is then active).
func (j *job) executing() bool { return j.Status == StatusRunning || j.Status == StatusCanceling }

// failureReasons are the failure reasons GitLab knows (Ci::Build
// failure_reason enum); a runner's other reasons are stored as
// unknown_failure, as Ci::BuildPendingState does. The job payload lists
// them in features.failure_reasons so that the runner maps its newer
// reasons onto these.
var failureReasons = []string{
	"unknown_failure", "script_failure", "api_failure", "stuck_or_timeout_failure", "runner_system_failure",
	"missing_dependency_failure", "runner_unsupported", "stale_schedule", "job_execution_timeout", "archived_failure",
	"unmet_prerequisites", "scheduler_failure", "data_integrity_failure", "forward_deployment_failure", "user_blocked",
	"project_deleted", "ci_quota_exceeded", "pipeline_loop_detected", "no_matching_runner", "trace_size_exceeded",
	"builds_disabled", "environment_creation_failure", "deployment_rejected", "failed_outdated_deployment_job",
	"protected_environment_failure", "insufficient_bridge_permissions", "downstream_bridge_project_not_found",
	"invalid_bridge_trigger", "upstream_bridge_project_not_found", "insufficient_upstream_permissions",
	"bridge_pipeline_is_child_pipeline", "downstream_pipeline_creation_failed", "secrets_provider_not_found",
	"reached_max_descendant_pipelines_depth", "ip_restriction_failure", "reached_max_pipeline_hierarchy_size",
	"job_token_expired",
}

// startLocked moves a job to running on manager m.
func (s *Server) startLocked(j *job, managerID int64) {
	now := s.now()
	j.Status = StatusRunning
	j.ManagerID = managerID
	j.AckManagerID = 0
	j.StartedAt = &now
	s.processPipelineLocked(s.pipelines[j.PipelineID])
}

// finishLocked ends a job with status success, failed or canceled. A job
// that is canceling ends canceled whatever the runner reports (GitLab's
// success and drop events both take canceling to canceled).
func (s *Server) finishLocked(j *job, status, reason string, exitCode *int) {
	now := s.now()
	if j.Status == StatusCanceling {
		status, reason = StatusCanceled, ""
	}
	j.Status = status
	j.FinishedAt = &now
	j.PendingStateAt = nil
	if status == StatusFailed {
		j.FailureReason = reason
		j.ExitCode = exitCode
	}
	s.processPipelineLocked(s.pipelines[j.PipelineID])
}

// cancelLocked is Ci::Build#cancel: a job not yet running is canceled; a
// running job becomes canceling when its runner cancels gracefully (it
// then runs after_script and reports), else canceled. Finished jobs and
// jobs already canceling are left alone.
func (s *Server) cancelLocked(j *job) {
	switch {
	case j.finished() || j.Status == StatusCanceling:
		return
	case j.Status == StatusRunning && j.CancelGracefully:
		j.Status = StatusCanceling
		s.processPipelineLocked(s.pipelines[j.PipelineID])
	default:
		now := s.now()
		j.Status = StatusCanceled
		j.AckManagerID = 0
		j.FinishedAt = &now
		s.processPipelineLocked(s.pipelines[j.PipelineID])
	}
}

// processPipelineLocked moves a pipeline on: stage by stage, the jobs of
// the first stage whose predecessors are all finished are enqueued (or
// skipped, by their when: against the earlier stages' outcome), and the
// pipeline's status is recomputed. Later stages wait while a job of an
// earlier stage is not finished.
func (s *Server) processPipelineLocked(p *pipeline) {
	if p == nil {
		return
	}
	jobs := s.pipelineJobsLocked(p.ID)
	failed, canceled := false, false
	for i := 0; i < len(jobs); {
		stage := jobs[i].Spec.StageIdx
		end := i
		for end < len(jobs) && jobs[end].Spec.StageIdx == stage {
			end++
		}
		for _, j := range jobs[i:end] {
			if j.Status != StatusCreated {
				continue
			}
			run := false
			switch j.Spec.When {
			case "always":
				run = true
			case "on_failure":
				run = failed
			default:
				run = !failed && !canceled
			}
			if run {
				s.enqueueLocked(j)
			} else {
				now := s.now()
				j.Status = StatusSkipped
				j.FinishedAt = &now
			}
		}
		for _, j := range jobs[i:end] {
			if !j.finished() {
				s.updatePipelineStatusLocked(p, jobs)
				return
			}
			failed = failed || (j.Status == StatusFailed && !j.Spec.AllowFailure)
			canceled = canceled || j.Status == StatusCanceled
		}
		i = end
	}
	s.updatePipelineStatusLocked(p, jobs)
}

// enqueueLocked makes a created job pending and tells the runners that can
// take it (GitLab ticks their queues, which ends their long polls).
func (s *Server) enqueueLocked(j *job) {
	now := s.now()
	j.Status = StatusPending
	j.QueuedAt = &now
	s.tickRunnersForJobLocked(j)
}

// updatePipelineStatusLocked is GitLab's composite status of a pipeline's
// jobs, with allowed failures counting as successes.
func (s *Server) updatePipelineStatusLocked(p *pipeline, jobs []*job) {
	count := map[string]int{}
	for _, j := range jobs {
		st := j.Status
		if st == StatusFailed && j.Spec.AllowFailure {
			st = StatusSuccess
		}
		count[st]++
	}
	done := count[StatusSuccess] + count[StatusFailed] + count[StatusCanceled] + count[StatusSkipped]
	var status string
	switch {
	case count[StatusRunning]+count[StatusCanceling] > 0:
		status = StatusRunning
	case count[StatusPending] > 0 && done > 0:
		status = StatusRunning
	case count[StatusPending] > 0:
		status = StatusPending
	case count[StatusCreated] > 0:
		status = StatusCreated
	case count[StatusFailed] > 0:
		status = StatusFailed
	case count[StatusCanceled] > 0:
		status = StatusCanceled
	case count[StatusSuccess] > 0:
		status = StatusSuccess
	default:
		status = StatusSkipped
	}
	now := s.now()
	if status != p.Status {
		p.UpdatedAt = now
	}
	p.Status = status
	if p.StartedAt == nil && (status == StatusRunning || done > 0) {
		p.StartedAt = &now
	}
	switch status {
	case StatusSuccess, StatusFailed, StatusCanceled, StatusSkipped:
		if p.FinishedAt == nil {
			p.FinishedAt = &now
		}
	}
}

// pipelineJobsLocked are a pipeline's jobs by id (stage order).
func (s *Server) pipelineJobsLocked(pipelineID int64) []*job {
	var out []*job
	for _, j := range s.st.Jobs {
		if j.PipelineID == pipelineID {
			out = append(out, j)
		}
	}
	return out
}

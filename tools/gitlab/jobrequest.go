package gitlab

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
)

// maxJobRequestBody is Workhorse's limit on a job request body
// (maxRegisterBodySize, 32 KiB).
const maxJobRequestBody = 32 << 10

// handleJobRequest is POST /jobs/request, the poll of `gitlab-runner run`,
// in two parts as in GitLab: Workhorse's long polling (jobqueue.go), then
// Rails' answer (requestJob).
func (s *Server) handleJobRequest(w http.ResponseWriter, r *http.Request) {
	if s.cfg.LongPollTimeout > 0 {
		w.Header().Set("Gitlab-Ci-Builds-Polling", "yes")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJobRequestBody))
	if err != nil {
		writeStatus(w, http.StatusRequestEntityTooLarge)
		return
	}
	// Workhorse reads token and last_update from a JSON body only.
	var poll struct {
		Token      string `json:"token"`
		LastUpdate string `json:"last_update"`
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" && json.Unmarshal(body, &poll) == nil {
		if !s.longPoll(r.Context(), poll.Token, poll.LastUpdate) {
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.requestJob(w, r)
}

// requestJob is Rails' POST /jobs/request (API::Ci::Runner and
// acquire_ci_job!): authenticate the runner (403, recorded, for an unknown
// token), record its contact and manager, then
//
//	paused runner:                 204, X-GitLab-Last-Update: the current queue value
//	last_update is the current one: 204, X-GitLab-Last-Update: last_update
//	no job for the runner:         204, X-GitLab-Last-Update: the current queue value
//	a job:                         201 with the job (jobpayload.go)
//
// A runner manager that advertises two_phase_job_commit gets the job
// while it stays pending, until it confirms it with PUT /jobs/:id
// state=running; other managers' jobs run at once.
func (s *Server) requestJob(w http.ResponseWriter, r *http.Request) {
	p, err := readParams(w, r)
	if err != nil {
		writeParamError(w, err)
		return
	}
	sid, err := systemID(p)
	if err != nil {
		writeParamError(w, err)
		return
	}
	info, _ := p["info"].(map[string]any)
	features, _ := info["features"].(map[string]any)
	lastUpdate, _ := p.str("last_update")

	s.mu.Lock()
	defer s.mu.Unlock()
	rn, _ := s.runnerByTokenLocked(w, r, p)
	if rn == nil {
		return
	}
	first := rn.ContactedAt == nil
	rn.contact(s.now())
	dirty := (sid != "" && s.touchManagerLocked(rn, sid, r, info)) || first
	noJob := func(lastUpdate string) {
		if dirty {
			if err := s.saveLocked(); err != nil {
				writeStatus(w, http.StatusInternalServerError)
				return
			}
		}
		w.Header().Set("X-GitLab-Last-Update", lastUpdate)
		w.WriteHeader(http.StatusNoContent)
	}
	if rn.Paused {
		noJob(s.ensureQueueValueLocked(rn))
		return
	}
	if lastUpdate != "" && lastUpdate == s.ensureQueueValueLocked(rn) {
		noJob(lastUpdate)
		return
	}
	current := s.ensureQueueValueLocked(rn)
	j := s.pickJobLocked(rn)
	if j == nil {
		noJob(current)
		return
	}

	token := NewJobToken()
	j.TokenSHA256 = digest(token)
	j.RunnerID = rn.ID
	j.InstanceRunner = rn.RunnerType == RunnerTypeInstance
	j.CancelGracefully = features["cancel_gracefully"] == true
	// Ci::BuildMetadata#update_timeout_state: the job's timeout (or the
	// project's), capped by the runner's maximum_timeout.
	j.Timeout = defaultProjectTimeout
	if j.Spec.Timeout > 0 {
		j.Timeout = j.Spec.Timeout
	}
	if rn.MaximumTimeout != nil && int(*rn.MaximumTimeout) < j.Timeout {
		j.Timeout = int(*rn.MaximumTimeout)
	}
	m := managerBySystemID(rn, sid)
	if features["two_phase_job_commit"] == true && m != nil {
		j.AckManagerID = m.ID
	} else {
		var mid int64
		if m != nil {
			mid = m.ID
		}
		s.startLocked(j, mid)
	}
	payload := s.jobPayloadLocked(j, rn, token)
	if err := s.saveLocked(); err != nil {
		writeStatus(w, http.StatusInternalServerError)
		return
	}
	s.log.Info("job picked", "job", j.ID, "runner", rn.ID, "system_id", sid, "status", j.Status)
	writeJSON(w, http.StatusCreated, payload)
}

// managerBySystemID is rn's manager with that system_id, or nil.
func managerBySystemID(rn *runner, systemID string) *manager {
	for _, m := range rn.Managers {
		if systemID != "" && m.SystemID == systemID {
			return m
		}
	}
	return nil
}

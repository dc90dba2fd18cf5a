package gitlab

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// stateVersion is bumped when the state file's layout changes. Version 1
// had no runner contact time and no minted tokens, version 2 no pipelines,
// jobs, protected branches or 403 records; both are read and upgraded.
const stateVersion = 3

// stateFile is what is persisted: everything a restarted stand-in must still
// know. Configured personal access tokens are not state; tokens minted
// through the API are, as SHA-256 digests only.
type stateFile struct {
	Version      int            `json:"version"`
	NextRunnerID int64          `json:"next_runner_id"`
	NextManager  int64          `json:"next_manager_id"`
	NextTokenID  int64          `json:"next_token_id"`
	Runners      []*runner      `json:"runners"`
	Tokens       []*mintedToken `json:"personal_access_tokens"`

	NextPipelineID        int64 `json:"next_pipeline_id"`
	NextJobID             int64 `json:"next_job_id"`
	NextProtectedBranchID int64 `json:"next_protected_branch_id"`
	// Projects are the projects the stand-in has used (protected branches,
	// pipeline iid counter); the others are as the seed describes them.
	Projects  []*projectState `json:"projects,omitempty"`
	Pipelines []*pipeline     `json:"pipelines,omitempty"`
	Jobs      []*job          `json:"jobs,omitempty"`
	// DeletedRunners remember the digests of deleted runners' tokens, so
	// that a request with one is told apart from an unknown token.
	DeletedRunners []*deletedRunner `json:"deleted_runners,omitempty"`
	// Forbidden are the latest 403 answers on runner endpoints and
	// ForbiddenTotal how many there were in all (see forbidden.go).
	Forbidden      []ForbiddenRequest `json:"forbidden,omitempty"`
	ForbiddenTotal int64              `json:"forbidden_total,omitempty"`
}

// deletedRunner is a runner that no longer exists.
type deletedRunner struct {
	ID          int64     `json:"id"`
	TokenSHA256 string    `json:"token_sha256"`
	DeletedAt   time.Time `json:"deleted_at"`
}

// mintedToken is a personal access token created through
// POST /users/:id/personal_access_tokens.
type mintedToken struct {
	ID          int64      `json:"id"`
	UserID      int64      `json:"user_id"`
	Name        string     `json:"name"`
	Scopes      []string   `json:"scopes"`
	TokenSHA256 string     `json:"token_sha256"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   *time.Time `json:"expires_at"`
}

// loadState reads path; a missing file is an empty state.
func loadState(path string) (*stateFile, error) {
	st := &stateFile{Version: stateVersion, NextRunnerID: 1, NextManager: 1, NextTokenID: 1,
		NextPipelineID: 1, NextJobID: 1, NextProtectedBranchID: 1}
	if path == "" {
		return st, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("parse state %s: %w", path, err)
	}
	switch st.Version {
	case 1:
		// Version 1 knew contacts only through managers.
		for _, r := range st.Runners {
			for _, m := range r.Managers {
				if r.ContactedAt == nil || m.ContactedAt.After(*r.ContactedAt) {
					r.contact(m.ContactedAt)
				}
			}
		}
		st.Version = stateVersion
	case 2:
		st.Version = stateVersion
	case stateVersion:
	default:
		return nil, fmt.Errorf("state %s has version %d, want %d", path, st.Version, stateVersion)
	}
	// Ids only ever grow, even if the counters in the file were edited by hand.
	st.NextTokenID = max(st.NextTokenID, 1)
	for _, r := range st.Runners {
		st.NextRunnerID = max(st.NextRunnerID, r.ID+1)
		for _, m := range r.Managers {
			st.NextManager = max(st.NextManager, m.ID+1)
		}
	}
	for _, t := range st.Tokens {
		st.NextTokenID = max(st.NextTokenID, t.ID+1)
	}
	st.NextPipelineID = max(st.NextPipelineID, 1)
	st.NextJobID = max(st.NextJobID, 1)
	st.NextProtectedBranchID = max(st.NextProtectedBranchID, 1)
	for _, p := range st.Pipelines {
		st.NextPipelineID = max(st.NextPipelineID, p.ID+1)
	}
	for _, j := range st.Jobs {
		st.NextJobID = max(st.NextJobID, j.ID+1)
	}
	for _, p := range st.Projects {
		for _, b := range p.ProtectedBranches {
			st.NextProtectedBranchID = max(st.NextProtectedBranchID, b.ID+1)
		}
	}
	return st, nil
}

// saveState writes st to path atomically: a temporary file in the same
// directory, synced, then renamed over the old one. The file is 0600 because
// it describes the runners of the instance even if it holds no token.
func saveState(path string, st *stateFile) error {
	if path == "" {
		return nil
	}
	sort.Slice(st.Runners, func(i, j int) bool { return st.Runners[i].ID < st.Runners[j].ID })
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(data, '\n'), 0o600)
}

// writeFileAtomic replaces path with data so that readers see either the old
// or the new content, never a partial write.
func writeFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(perm); err != nil {
		_ = tmp.Close()
		return err
	}
	if _, err = tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err = tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// Make the rename itself durable; not every filesystem supports syncing
	// a directory, so a failure here is not an error.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

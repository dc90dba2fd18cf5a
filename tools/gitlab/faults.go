package gitlab

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Fault makes the next Count API requests (matching Method and the Path
// prefix, when given) fail with Status. See the package documentation.
type Fault struct {
	Status int    `json:"status"`
	Count  int    `json:"count"`
	Method string `json:"method,omitempty"`
	Path   string `json:"path,omitempty"`
}

func (f *Fault) matches(r *http.Request) bool {
	return (f.Method == "" || strings.EqualFold(f.Method, r.Method)) &&
		(f.Path == "" || strings.HasPrefix(r.URL.Path, f.Path))
}

// takeFault consumes one failure if a fault matches r; it returns the
// status to answer with, or 0.
func (s *Server) takeFault(r *http.Request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.fault
	if f == nil || !f.matches(r) {
		return 0
	}
	f.Count--
	if f.Count <= 0 {
		s.fault = nil
	}
	return f.Status
}

// injectFaults fails /api/v4 requests while a fault is in force, before
// authentication and without touching state.
func (s *Server) injectFaults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/v4/") {
			if status := s.takeFault(r); status != 0 {
				if status == http.StatusForbidden && isRunnerEndpoint(r) {
					s.mu.Lock()
					auth := AuthRunner
					if isJobEndpoint(r) {
						auth = AuthJob
					}
					s.recordForbiddenLocked(r, ForbiddenRequest{Auth: auth, Reason: ForbiddenFault})
					s.mu.Unlock()
				}
				writeStatus(w, status)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) handleSetFault(w http.ResponseWriter, r *http.Request) {
	if s.authorize(w, r, scopesFaults...) == nil {
		return
	}
	var f Fault
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		writeError(w, http.StatusBadRequest, "body must be {\"status\":500,\"count\":1,\"method\":\"\",\"path\":\"\"}")
		return
	}
	if f.Status < 400 || f.Status > 599 {
		writeError(w, http.StatusBadRequest, "status must be between 400 and 599")
		return
	}
	if f.Count < 0 {
		writeError(w, http.StatusBadRequest, "count must not be negative")
		return
	}
	if f.Count == 0 {
		f.Count = 1
	}
	s.mu.Lock()
	s.fault = &f
	s.mu.Unlock()
	s.log.Info("fault injected", "status", f.Status, "count", f.Count, "method", f.Method, "path", f.Path)
	writeJSON(w, http.StatusCreated, f)
}

func (s *Server) handleGetFault(w http.ResponseWriter, r *http.Request) {
	if s.authorize(w, r, scopesFaults...) == nil {
		return
	}
	s.mu.Lock()
	f := Fault{}
	if s.fault != nil {
		f = *s.fault
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, f)
}

func (s *Server) handleClearFault(w http.ResponseWriter, r *http.Request) {
	if s.authorize(w, r, scopesFaults...) == nil {
		return
	}
	s.mu.Lock()
	s.fault = nil
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

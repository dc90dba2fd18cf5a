package gitlab

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// writeJSON sends v as the JSON body with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeMessage sends GitLab's {"message": ...} error body; msg may be a
// string or a map of attribute to validation messages.
func writeMessage(w http.ResponseWriter, status int, msg any) {
	writeJSON(w, status, map[string]any{"message": msg})
}

// writeError sends GitLab's {"error": "..."} body, used for parameter errors.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// writeStatus sends {"message": "<code> <text>"}, the body GitLab gives for
// 401, 403, 500 and the like.
func writeStatus(w http.ResponseWriter, status int) {
	writeMessage(w, status, statusMessage(status))
}

func statusMessage(status int) string {
	return fmt.Sprintf("%d %s", status, http.StatusText(status))
}

// writeValidation sends a model validation failure:
// {"message": {"attr": ["reason"]}}.
func writeValidation(w http.ResponseWriter, errs map[string][]string) {
	writeMessage(w, http.StatusBadRequest, errs)
}

func writeRunnerNotFound(w http.ResponseWriter) { writeNotFound(w, "Runner") }

// writeForbidden is GitLab's forbidden!(reason): {"message":"403 Forbidden - reason"}.
func writeForbidden(w http.ResponseWriter, reason string) {
	writeMessage(w, http.StatusForbidden, "403 Forbidden - "+reason)
}

// writeBadRequest is GitLab's bad_request!(reason): {"message":"400 Bad request - reason"}.
func writeBadRequest(w http.ResponseWriter, reason string) {
	writeMessage(w, http.StatusBadRequest, "400 Bad request - "+reason)
}

// writeNotFound is GitLab's not_found!(what): {"message":"404 What Not Found"}.
func writeNotFound(w http.ResponseWriter, what string) {
	writeMessage(w, http.StatusNotFound, "404 "+what+" Not Found")
}

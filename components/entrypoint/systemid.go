package entrypoint

import (
	"crypto/sha256"
	"encoding/hex"
)

// SystemID is the runner system id the entrypoint gives the manager in pod
// of namespace: "s_" and the first 12 hex digits of the SHA-256 of
// "<namespace>/<pod>" (entrypoint.sh). A StatefulSet's pod keeps its name
// across restarts, so it keeps its manager in GitLab, and whoever knows the
// pod knows its manager in GitLab's list (GET /runners/:id/managers).
func SystemID(namespace, pod string) string {
	sum := sha256.Sum256([]byte(namespace + "/" + pod))
	return "s_" + hex.EncodeToString(sum[:])[:12]
}

package settings

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// minRotationPeriod keeps rotations from replacing the runner on every `up`.
const minRotationPeriod = time.Minute

// parseRotationPeriod reads a Go duration ("720h", "90m") or a number of days ("30d").
func parseRotationPeriod(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q is not a number of days such as \"30d\"", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as \"30d\", \"720h\" or \"90m\"", s)
	}
	return d, nil
}

// RotationPeriod is runner.rotateEvery when set (Validate checks it).
func (r RunnerSettings) RotationPeriod() (time.Duration, bool) {
	if r.RotateEvery == "" {
		return 0, false
	}
	d, err := parseRotationPeriod(r.RotateEvery)
	return d, err == nil
}

// RotationWindow is the number of the rotation period that holds t.
//
// Runner token rotation is owned by the stack. When a GitLab instance sets
// a runner token expiry, each runner manager would rotate the shared token
// itself before it expires and keep the new one only in its own memory: the
// Secret, the stack's state, the other replicas and every restarted pod keep
// a dead token. The fleet turns that off (FF_DISABLE_AUTOMATIC_TOKEN_ROTATION,
// see OwnedFeatureFlags) and rotates from the stack instead: with
// runner.rotateEvery set, time is cut into periods of
// that length counted from 1970-01-01 UTC, and the first `up` in a new period
// creates a new runner (pulumi.ReplacementTrigger with the period's number),
// its token Secret, and rolls the StatefulSet's pods to it. The runner the
// pods used until then is kept for one more period (two slots, by the
// period's parity; see the fleet package's rotatingRunners): managers not
// yet rolled keep polling with a valid token, and it is deleted by the first
// `up` of the next period. This needs an `up` in every period, and a
// rollout shorter than a period.
//
// A token is therefore never older than rotateEvery plus the longest gap
// between two `up`s. With an instance expiry (Admin > Settings > CI/CD >
// Runners, "Runners expiration"), choose rotateEvery so that this stays below
// the expiry, e.g. rotateEvery 30d with a 90-day expiry and an `up` at least
// monthly. Turning rotateEvery on replaces nothing (the current period's
// slot takes over the fleet's runner). Turning it off, or changing it,
// replaces both slots' runners in one `up`: managers not yet rolled lose
// their token until they roll, so do that when the fleet may pause.
func RotationWindow(t time.Time, period time.Duration) int64 {
	return t.UTC().UnixNano() / int64(period)
}

// NextRotation is when the period after the one holding t begins: the first
// `up` from then on rotates the token.
func NextRotation(t time.Time, period time.Duration) time.Time {
	return time.Unix(0, (RotationWindow(t, period)+1)*int64(period)).UTC()
}

// RotationNoteReserve is the room a rotating fleet's runners keep in GitLab's
// maintenance note (1024 characters at most) for the line naming their
// rotation period.
const RotationNoteReserve = 128

// maintenanceNoteLimit is how long runner.maintenanceNote may be.
func maintenanceNoteLimit(r RunnerSettings) int {
	if r.RotateEvery != "" {
		return 1024 - RotationNoteReserve - 1 // and a newline
	}
	return 1024
}

func validateRotation(ps *Problems, path, value string) {
	if value == "" {
		return
	}
	d, err := parseRotationPeriod(value)
	switch {
	case err != nil:
		ps.Add(path, "%v", err)
	case d < minRotationPeriod:
		ps.Add(path, "%q is shorter than %s: every `up` would replace the runner", value, minRotationPeriod)
	}
}

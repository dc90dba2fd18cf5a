package entrypoint_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
)

// SIGINT too (a Ctrl-C in `kubectl run -it`, or a runtime that stops with
// it): PID 1 has no default action for a signal it does not handle, so
// without the trap the shell would go on verifying.
func TestEntrypointAsPID1StopsOnSIGINTWhileVerifying(t *testing.T) {
	e := newEntrypointEnv(t, "builds-0", "glrt-abc", 0, false)
	hung := filepath.Join(e.dir, "register.pid")
	p := startAsPID1(t, e, "FAKE_REGISTER_HANG="+hung)
	p.waitFor(t, "register to start", func() bool { _, err := os.Stat(hung); return err == nil })
	p.signal(t, syscall.SIGINT)
	assert.Equal(t, 128+int(syscall.SIGINT), p.exitCode(t))
	assert.Contains(t, p.out.String(), "received SIGINT while verifying the runner token; stopping")
	assert.False(t, p.logged(t, "run --config"), "never runs after a stop signal")
}

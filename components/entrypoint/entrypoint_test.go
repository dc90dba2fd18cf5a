package entrypoint_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/entrypoint"
)

func TestEntrypointIsValidPOSIXShell(t *testing.T) {
	cmd := exec.Command("sh", "-n")
	cmd.Stdin = strings.NewReader(entrypoint.Script)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "sh -n: %s", out)
}

// fakeRunner is a gitlab-runner stand-in. `register` records its arguments
// and the token it finds in its environment, takes FAKE_REGISTER_SECONDS
// (as an attempt against a GitLab that answers slowly), and fails FAKE_FAILS
// times (or hangs with FAKE_REGISTER_HANG). `verify` fails, as the real one
// does when GitLab answers 403, while the file FAKE_TOKEN_DEAD exists. `run`
// records the signals it gets, as
// the real runner does with signal.Notify: SIGQUIT starts a graceful stop
// (it goes on "draining" unless FAKE_EXIT_ON_QUIT), SIGTERM ends it.
const fakeRunner = `#!/bin/sh
echo "$*" >>"$FAKE_LOG"
case "$1" in
register)
	echo "register env token=${CI_SERVER_TOKEN:-}" >>"$FAKE_LOG"
	if [ -n "${FAKE_REGISTER_HANG:-}" ]; then
		echo $$ >"$FAKE_REGISTER_HANG"
		exec /bin/sleep 1000
	fi
	if [ -n "${FAKE_REGISTER_SECONDS:-}" ]; then /bin/sleep "$FAKE_REGISTER_SECONDS"; fi
	n=$(cat "$FAKE_FAILS" 2>/dev/null || echo 0)
	if [ "$n" -gt 0 ]; then echo $((n - 1)) >"$FAKE_FAILS"; exit 1; fi
	;;
verify)
	# GitLab refuses the token (403) while FAKE_TOKEN_DEAD exists.
	if [ -e "${FAKE_TOKEN_DEAD:-/nonexistent}" ]; then
		echo "Verifying runner... is not valid" >&2
		echo "FATAL: Failed to verify runners" >&2
		exit 1
	fi
	;;
run)
	echo "run env token=${CI_SERVER_TOKEN:-}" >>"$FAKE_LOG"
	trap 'echo "got QUIT" >>"$FAKE_LOG"; if [ -n "${FAKE_EXIT_ON_QUIT:-}" ]; then exit 0; fi' QUIT
	trap 'echo "got TERM" >>"$FAKE_LOG"; exit 0' TERM
	if [ -n "${FAKE_RUN_FOREVER:-}" ]; then
		echo running >>"$FAKE_LOG"
		while :; do /bin/sleep 1 & wait $! || :; done
	fi
	;;
esac
exit 0
`

// entrypointEnv lays out a manager container's files in a temporary folder.
type entrypointEnv struct {
	dir, bin, configDir, log, script string
	env                              []string
}

func newEntrypointEnv(t *testing.T, podName, token string, failures int, fastSleep bool) *entrypointEnv {
	t.Helper()
	dir := t.TempDir()
	e := &entrypointEnv{dir: dir, bin: filepath.Join(dir, "bin"), configDir: filepath.Join(dir, "config"),
		log: filepath.Join(dir, "calls"), script: filepath.Join(dir, "entrypoint.sh")}
	templates, secrets := filepath.Join(dir, "templates"), filepath.Join(dir, "secrets")
	for _, d := range []string{e.bin, templates, secrets, e.configDir} {
		require.NoError(t, os.MkdirAll(d, 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(e.bin, "gitlab-runner"), []byte(fakeRunner), 0o755))
	if fastSleep {
		// Retry delays pass (almost) at once; the budget arithmetic stays the script's.
		require.NoError(t, os.WriteFile(filepath.Join(e.bin, "sleep"), []byte("#!/bin/sh\nexec /bin/sleep 0.1\n"), 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(templates, "config.toml"), []byte("concurrent = 1\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(templates, "runner-template.toml"), []byte("[[runners]]\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(secrets, "runner-token"), []byte(token), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "fails"), []byte(strconv.Itoa(failures)), 0o644))
	require.NoError(t, os.WriteFile(e.script, []byte(entrypoint.Script), 0o755))
	e.env = append(os.Environ(),
		"PATH="+e.bin+":"+os.Getenv("PATH"),
		"CI_SERVER_URL=https://gitlab.example.com/",
		"POD_NAME="+podName, "POD_NAMESPACE=runners",
		"CONFIG_DIR="+e.configDir, "TEMPLATE_DIR="+templates,
		"RUNNER_TOKEN_FILE="+filepath.Join(secrets, "runner-token"),
		"REGISTER_BUDGET_SECONDS=15",
		"FAKE_LOG="+e.log, "FAKE_FAILS="+filepath.Join(dir, "fails"),
	)
	return e
}

type entrypointRun struct {
	*entrypointEnv
	out string
	err error
}

func runEntrypoint(t *testing.T, podName, token string, failures int) entrypointRun {
	t.Helper()
	e := newEntrypointEnv(t, podName, token, failures, true)
	cmd := exec.Command("sh", e.script)
	cmd.Env = e.env
	out, err := cmd.CombinedOutput()
	return entrypointRun{entrypointEnv: e, out: string(out), err: err}
}

func (e *entrypointEnv) calls(t *testing.T) []string {
	data, err := os.ReadFile(e.log)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	return strings.Split(strings.TrimSpace(string(data)), "\n")
}

// registers counts the register attempts.
func (e *entrypointEnv) registers(t *testing.T) int {
	n := 0
	for _, c := range e.calls(t) {
		if strings.HasPrefix(c, "register --") {
			n++
		}
	}
	return n
}

// slowSleep replaces sleep with one that takes seconds, whatever it is asked
// for, as on a node so busy that `sleep 1` overruns, and records each call.
func (e *entrypointEnv) slowSleep(t *testing.T, seconds int) {
	t.Helper()
	script := fmt.Sprintf("#!/bin/sh\necho \"sleep $*\" >>%q\nexec /bin/sleep %d\n", e.log, seconds)
	require.NoError(t, os.WriteFile(filepath.Join(e.bin, "sleep"), []byte(script), 0o755))
}

func (e *entrypointEnv) systemID(t *testing.T) string {
	data, err := os.ReadFile(filepath.Join(e.configDir, ".runner_system_id"))
	require.NoError(t, err)
	return strings.TrimSpace(string(data))
}

func TestEntrypointVerifiesTokenThenRuns(t *testing.T) {
	r := runEntrypoint(t, "builds-0", "glrt-abc123", 0)
	require.NoError(t, r.err, r.out)
	calls := r.calls(t)
	require.Len(t, calls, 4)
	assert.Contains(t, calls[0], "register --non-interactive --url https://gitlab.example.com/ --executor kubernetes --name builds-0")
	assert.Contains(t, calls[0], "--template-config "+filepath.Join(r.dir, "templates", "runner-template.toml"))
	assert.NotContains(t, calls[0], "glrt-", "the token is never on a command line (/proc/<pid>/cmdline)")
	assert.Equal(t, "register env token=glrt-abc123", calls[1], "register reads the token from CI_SERVER_TOKEN")
	for _, forbidden := range []string{"--token", "--locked", "--access-level", "--run-untagged", "--maximum-timeout", "--paused", "--tag-list", "--maintenance-note", "--registration-token"} {
		assert.NotContains(t, calls[0], forbidden, "server-side settings belong to the UserRunner")
	}
	assert.Equal(t, "run --config "+filepath.Join(r.configDir, "config.toml"), calls[2])
	assert.Equal(t, "run env token=", calls[3], "the runner itself does not inherit the token variable")
	assert.NotContains(t, r.out, "glrt-abc123", "the token is never logged")
	config, err := os.ReadFile(filepath.Join(r.configDir, "config.toml"))
	require.NoError(t, err)
	assert.Equal(t, "concurrent = 1\n", string(config), "globals copied into the config dir")
}

func TestEntrypointSystemIDIsValidAndStablePerPod(t *testing.T) {
	first := runEntrypoint(t, "builds-0", "glrt-abc", 0)
	again := runEntrypoint(t, "builds-0", "glrt-abc", 0)
	other := runEntrypoint(t, "builds-1", "glrt-abc", 0)
	require.NoError(t, first.err, first.out)
	assert.Regexp(t, `^[sr]_[0-9a-zA-Z]{12}$`, first.systemID(t))
	assert.Equal(t, first.systemID(t), again.systemID(t), "a restarted pod keeps its identity")
	assert.NotEqual(t, first.systemID(t), other.systemID(t), "each ordinal is its own manager")
}

func TestEntrypointRetriesTransientFailures(t *testing.T) {
	r := runEntrypoint(t, "builds-0", "glrt-abc", 2)
	require.NoError(t, r.err, r.out)
	assert.Equal(t, 3, r.registers(t), "two failed registers, then one that succeeds")
	assert.Regexp(t, `attempt 2, \d+s of 15s used\); retrying in 10s`, r.out)
}

func TestEntrypointGivesUpWhenNoDelayFitsTheBudget(t *testing.T) {
	// Budget 15 s, attempts that fail at once, delays that pass at once: the
	// delays of 5 and 10 s end inside the budget, the next one (15 s) would
	// not.
	r := runEntrypoint(t, "builds-0", "glrt-abc", 5)
	require.Error(t, r.err)
	assert.Regexp(t, `after 3 attempts \(\d+s of 15s used, no time left for another\); giving up`, r.out)
	assert.Equal(t, 3, r.registers(t))
	for _, c := range r.calls(t) {
		assert.NotContains(t, c, "run --config", "never runs unverified")
	}
}

func TestEntrypointRejectsRegistrationTokens(t *testing.T) {
	r := runEntrypoint(t, "builds-0", "GR1348941old-registration-token", 0)
	require.Error(t, r.err)
	assert.Contains(t, r.out, "does not hold a runner authentication token")
	assert.Empty(t, r.calls(t))
}

// pid1 runs the entrypoint as PID 1 of its own PID namespace, as in a
// container, where a process gets only the signals it handles.
type pid1 struct {
	*entrypointEnv
	cmd     *exec.Cmd
	out     *bytes.Buffer
	hostPID int // the namespace's PID 1 as the host sees it
	done    chan error
}

func startAsPID1(t *testing.T, e *entrypointEnv, extraEnv ...string) *pid1 {
	t.Helper()
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Fatalf("these tests need unshare (util-linux) to give the entrypoint a PID namespace: %v", err)
	}
	p := &pid1{entrypointEnv: e, out: &bytes.Buffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command("unshare", "--pid", "--fork", "--kill-child", "sh", e.script)
	p.cmd.Env = append(e.env, extraEnv...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	require.NoError(t, p.cmd.Start(), "unshare --pid needs CAP_SYS_ADMIN")
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	children := fmt.Sprintf("/proc/%d/task/%d/children", p.cmd.Process.Pid, p.cmd.Process.Pid)
	p.waitFor(t, "the namespace's first process", func() bool {
		data, err := os.ReadFile(children)
		if err != nil {
			return false
		}
		p.hostPID, err = strconv.Atoi(strings.TrimSpace(string(data)))
		return err == nil
	})
	return p
}

func (p *pid1) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for %s; output:\n%s", what, p.out)
		}
	}
}

func (p *pid1) logged(t *testing.T, line string) bool {
	return strings.Contains(strings.Join(p.calls(t), "\n"), line)
}

// signal sends sig from outside the namespace, as the container runtime does.
func (p *pid1) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	require.NoError(t, syscall.Kill(p.hostPID, sig))
}

// exitCode waits (at most 30 s) for the namespace to end.
func (p *pid1) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case err := <-p.done:
		if exit, ok := err.(*exec.ExitError); ok {
			return exit.ExitCode()
		}
		require.NoError(t, err)
		return 0
	case <-time.After(30 * time.Second):
		t.Fatalf("PID 1 ignored the signal; output:\n%s", p.out)
		return -1
	}
}

func TestEntrypointAsPID1StopsOnSignalsWhileVerifying(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGQUIT} {
		t.Run(sig.String(), func(t *testing.T) {
			e := newEntrypointEnv(t, "builds-0", "glrt-abc", 0, false)
			hung := filepath.Join(e.dir, "register.pid")
			// register hangs (GitLab does not answer); a shell that waited for
			// it in the foreground would not handle the signal for 1000 s.
			p := startAsPID1(t, e, "FAKE_REGISTER_HANG="+hung)
			p.waitFor(t, "register to start", func() bool { _, err := os.Stat(hung); return err == nil })
			p.signal(t, sig)
			code := p.exitCode(t)
			names := map[syscall.Signal]string{syscall.SIGTERM: "TERM", syscall.SIGQUIT: "QUIT"}
			assert.Equal(t, 128+int(sig), code)
			assert.Contains(t, p.out.String(), "received SIG"+names[sig]+" while verifying the runner token; stopping")
			assert.False(t, p.logged(t, "run --config"), "never runs after a stop signal")
		})
	}
}

func TestEntrypointAsPID1StopsOnSIGTERMWhileWaitingToRetry(t *testing.T) {
	e := newEntrypointEnv(t, "builds-0", "glrt-abc", 100, false)
	p := startAsPID1(t, e, "REGISTER_BUDGET_SECONDS=600")
	p.waitFor(t, "the first retry delay", func() bool { return strings.Contains(p.out.String(), "retrying in 5s") })
	p.signal(t, syscall.SIGTERM)
	assert.Equal(t, 143, p.exitCode(t))
	assert.Contains(t, p.out.String(), "received SIGTERM while waiting to retry; stopping")
}

func TestEntrypointAsPID1HandsSignalsToTheRunner(t *testing.T) {
	e := newEntrypointEnv(t, "builds-0", "glrt-abc", 0, false)
	p := startAsPID1(t, e, "FAKE_RUN_FOREVER=1")
	p.waitFor(t, "the runner to run", func() bool { return p.logged(t, "running") })
	p.signal(t, syscall.SIGQUIT)
	p.waitFor(t, "the runner to get SIGQUIT", func() bool { return p.logged(t, "got QUIT") })
	p.signal(t, syscall.SIGTERM)
	assert.Equal(t, 0, p.exitCode(t))
	assert.True(t, p.logged(t, "got TERM"), "the runner, now PID 1, gets the kubelet's SIGTERM")
}

// preStop runs the preStop hook inside the namespace, as the kubelet does,
// and returns its output. When the runner, PID 1, exits, the kernel
// ends every process of its namespace, the hook included, as the container
// runtime does with a container's processes: that counts as returning.
func (p *pid1) preStop(t *testing.T, drainSeconds int) string {
	t.Helper()
	cmd := exec.Command("nsenter", "-t", strconv.Itoa(p.hostPID), "-p", "sh", p.script, "prestop")
	cmd.Env = append(p.env, fmt.Sprintf("DRAIN_SECONDS=%d", drainSeconds))
	out, err := cmd.CombinedOutput()
	if exit, ok := err.(*exec.ExitError); ok && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL {
		err = nil
	}
	require.NoError(t, err, "preStop: %s", out)
	return string(out)
}

func TestPreStopDrainsThenLeavesTimeForTheForcefulStop(t *testing.T) {
	e := newEntrypointEnv(t, "builds-0", "glrt-abc", 0, false)
	p := startAsPID1(t, e, "FAKE_RUN_FOREVER=1")
	p.waitFor(t, "the runner to run", func() bool { return p.logged(t, "running") })

	// The runner keeps draining: preStop gives up after DRAIN_SECONDS, so the
	// kubelet's SIGTERM comes while the grace period still has
	// shutdown_timeout left for the forceful stop.
	out := p.preStop(t, 2)
	assert.True(t, p.logged(t, "got QUIT"), "preStop asks for the graceful stop")
	assert.False(t, p.logged(t, "got TERM"), "preStop itself never forces")
	assert.Regexp(t, `preStop: jobs still running after [2-9]s \(drain time 2s\); SIGTERM follows`, out,
		"it waits out the drain time by its clock, then returns")
	p.signal(t, syscall.SIGTERM)
	assert.Equal(t, 0, p.exitCode(t))
	assert.True(t, p.logged(t, "got TERM"))
}

func TestPreStopReturnsWhenTheRunnerHasStopped(t *testing.T) {
	e := newEntrypointEnv(t, "builds-0", "glrt-abc", 0, false)
	p := startAsPID1(t, e, "FAKE_RUN_FOREVER=1", "FAKE_EXIT_ON_QUIT=1")
	p.waitFor(t, "the runner to run", func() bool { return p.logged(t, "running") })
	out := p.preStop(t, 3600)
	assert.NotContains(t, out, "jobs still running", "an idle runner stops on SIGQUIT and preStop does not wait out the drain time")
	assert.Equal(t, 0, p.exitCode(t))
	assert.False(t, p.logged(t, "got TERM"))
}

// The pre-entrypoint script runs before the token is verified, with the
// container's environment; its failure stops the start before register.
func TestEntrypointRunsThePreEntrypointScriptFirst(t *testing.T) {
	run := func(t *testing.T, script string) entrypointRun {
		e := newEntrypointEnv(t, "builds-0", "glrt-abc", 0, true)
		path := filepath.Join(e.dir, "pre-entrypoint.sh")
		require.NoError(t, os.WriteFile(path, []byte(script), 0o444)) // mounted without x, run with sh
		cmd := exec.Command("sh", e.script)
		cmd.Env = append(e.env, "PRE_ENTRYPOINT_SCRIPT="+path, "HTTPS_PROXY=http://proxy:3128")
		out, err := cmd.CombinedOutput()
		return entrypointRun{entrypointEnv: e, out: string(out), err: err}
	}
	t.Run("succeeds", func(t *testing.T) {
		r := run(t, `echo "pre-entrypoint proxy=$HTTPS_PROXY token=${CI_SERVER_TOKEN:-}" >>"$FAKE_LOG"`+"\n")
		require.NoError(t, r.err, r.out)
		calls := r.calls(t)
		require.NotEmpty(t, calls)
		assert.Equal(t, "pre-entrypoint proxy=http://proxy:3128 token=", calls[0], "first, with the container's variables and no token")
		assert.Contains(t, calls[1], "register --non-interactive")
	})
	t.Run("fails", func(t *testing.T) {
		r := run(t, "echo waited >>\"$FAKE_LOG\"; exit 3\n")
		require.Error(t, r.err)
		assert.Contains(t, r.out, "pre-entrypoint.sh failed")
		assert.Equal(t, []string{"waited"}, r.calls(t), "never registers nor runs")
	})
}

// A pre-entrypoint script that hangs is stopped when the registration
// budget runs out, which it counts against: the start fails inside the
// startup probe's window instead of being killed by it.
func TestEntrypointAsPID1StopsAHangingPreEntrypointScript(t *testing.T) {
	e := newEntrypointEnv(t, "builds-0", "glrt-abc", 0, false)
	script := filepath.Join(e.dir, "pre-entrypoint.sh")
	require.NoError(t, os.WriteFile(script, []byte("echo waiting >>\"$FAKE_LOG\"\nexec /bin/sleep 1000\n"), 0o444))
	p := startAsPID1(t, e, "PRE_ENTRYPOINT_SCRIPT="+script, "REGISTER_BUDGET_SECONDS=2")
	assert.Equal(t, 1, p.exitCode(t))
	assert.Contains(t, p.out.String(), "still ran when the 2s budget ran out; stopping")
	assert.Equal(t, 0, p.registers(t), "never registers")
}

// The globals' @POD_NAME@ (the session server's advertised address) becomes
// the pod's own name.
func TestEntrypointNamesThePodInTheGlobals(t *testing.T) {
	e := newEntrypointEnv(t, "builds-1", "glrt-abc", 0, true)
	globals := "[session_server]\n  advertise_address = \"@POD_NAME@.builds.runners.svc:8093\"\n"
	require.NoError(t, os.WriteFile(filepath.Join(e.dir, "templates", "config.toml"), []byte(globals), 0o644))
	cmd := exec.Command("sh", e.script)
	cmd.Env = e.env
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	config, err := os.ReadFile(filepath.Join(e.configDir, "config.toml"))
	require.NoError(t, err)
	assert.Equal(t, "[session_server]\n  advertise_address = \"builds-1.builds.runners.svc:8093\"\n", string(config))
}

// The registration budget is a deadline by the clock: an attempt that hangs
// (GitLab accepts the connection and never answers) is stopped when the
// budget runs out, and the entrypoint gives up instead of waiting for the
// startup probe to kill it.
func TestEntrypointAsPID1StopsAHangingAttemptAtTheDeadline(t *testing.T) {
	e := newEntrypointEnv(t, "builds-0", "glrt-abc", 0, false)
	hung := filepath.Join(e.dir, "register.pid")
	p := startAsPID1(t, e, "FAKE_REGISTER_HANG="+hung, "REGISTER_BUDGET_SECONDS=3")
	assert.Equal(t, 1, p.exitCode(t))
	assert.Regexp(t, `attempt 1 was still running or failed when the 3s budget ran out \(\d+s used\); giving up`, p.out.String())
	assert.Equal(t, 1, p.registers(t))
	assert.False(t, p.logged(t, "run --config"), "never runs unverified")
}

// Attempts that take time count against the budget: with attempts of 4 s
// and delays that pass at once, the second attempt ends 8 s in and its 10 s
// delay would end past the 15 s budget. Counting only the delays (5 + 10 s
// fit in 15) would make a third attempt, and with real attempts of minutes
// overrun the startup probe's window.
func TestEntrypointAsPID1CountsSlowAttemptsAgainstTheBudget(t *testing.T) {
	e := newEntrypointEnv(t, "builds-0", "glrt-abc", 100, true)
	p := startAsPID1(t, e, "FAKE_REGISTER_SECONDS=4", "REGISTER_BUDGET_SECONDS=15")
	assert.Equal(t, 1, p.exitCode(t))
	assert.Equal(t, 2, p.registers(t), "two attempts of 4 s fit, the delay after the second does not")
	used := regexp.MustCompile(`after 2 attempts \((\d+)s of 15s used, no time left for another\); giving up`).FindStringSubmatch(p.out.String())
	require.NotNil(t, used, p.out.String())
	seconds, err := strconv.Atoi(used[1])
	require.NoError(t, err)
	assert.GreaterOrEqual(t, seconds, 8, "both attempts' time is counted")
}

// The drain is bounded by the clock, not by iterations: with a `sleep 1`
// that takes 3 s, a drain of 4 s ends after at most two sleeps (counting
// iterations would take four, 12 s, eating the forceful stop's time).
func TestPreStopDrainIsBoundedByTheClock(t *testing.T) {
	e := newEntrypointEnv(t, "builds-0", "glrt-abc", 0, false)
	p := startAsPID1(t, e, "FAKE_RUN_FOREVER=1")
	p.waitFor(t, "the runner to run", func() bool { return p.logged(t, "running") })
	e.slowSleep(t, 3)
	p.preStop(t, 4)
	var sleeps int
	for _, c := range p.calls(t) {
		if strings.HasPrefix(c, "sleep ") {
			sleeps++
		}
	}
	assert.Positive(t, sleeps)
	assert.LessOrEqual(t, sleeps, 2, "the drain stops at its deadline, whatever each sleep takes")
	assert.False(t, p.logged(t, "got TERM"), "preStop itself never forces")
	p.signal(t, syscall.SIGTERM)
	assert.Equal(t, 0, p.exitCode(t))
}

// The token watch (TOKEN_CHECK_SECONDS, from the fleet's token-check
// capability): while GitLab accepts the token the runner runs on; once
// `gitlab-runner verify` fails TOKEN_CHECK_FAILURES times in a row (GitLab
// refuses the token) the runner gets SIGQUIT, its graceful stop, and the
// container ends.
func TestEntrypointAsPID1StopsTheRunnerWhenGitLabRefusesItsToken(t *testing.T) {
	e := newEntrypointEnv(t, "builds-0", "glrt-abc", 0, false)
	dead := filepath.Join(e.dir, "token-dead")
	p := startAsPID1(t, e, "FAKE_RUN_FOREVER=1", "FAKE_EXIT_ON_QUIT=1", "FAKE_TOKEN_DEAD="+dead,
		"TOKEN_CHECK_SECONDS=0.2", "TOKEN_CHECK_FAILURES=2")
	p.waitFor(t, "the runner to run", func() bool { return p.logged(t, "running") })
	p.waitFor(t, "a few token checks", func() bool { return strings.Count(strings.Join(p.calls(t), "\n"), "verify --config") >= 3 })
	assert.False(t, p.logged(t, "got QUIT"), "a valid token: the runner runs on")

	require.NoError(t, os.WriteFile(dead, nil, 0o644))
	assert.Equal(t, 0, p.exitCode(t), "the runner stops gracefully and the container ends")
	assert.True(t, p.logged(t, "got QUIT"))
	assert.False(t, p.logged(t, "got TERM"), "a graceful stop: running jobs finish")
	assert.Contains(t, p.out.String(), "GitLab refuses the runner token (1 of 2 checks in a row): Verifying runner... is not valid")
	assert.Contains(t, p.out.String(), "the runner was deleted in GitLab or its token expired")
	for _, line := range p.calls(t) {
		if strings.HasPrefix(line, "verify") {
			assert.NotContains(t, line, "glrt-", "the token stays off the command line")
		}
	}
}

// Without TOKEN_CHECK_SECONDS there is no watch.
func TestEntrypointWithoutTokenCheckDoesNotVerify(t *testing.T) {
	r := runEntrypoint(t, "builds-0", "glrt-abc", 0)
	require.NoError(t, r.err, r.out)
	assert.False(t, strings.Contains(strings.Join(r.calls(t), "\n"), "verify"), r.calls(t))
}

// shellFunction is the definition of a function of the script: from its
// `name() {` line to the first `}` line at the start of a line after it.
func shellFunction(t *testing.T, script, name string) string {
	t.Helper()
	start := strings.Index(script, "\n"+name+"() {\n")
	require.GreaterOrEqual(t, start, 0, "entrypoint.sh defines %s", name)
	end := strings.Index(script[start:], "\n}\n")
	require.Greater(t, end, 0, "%s's definition ends", name)
	return script[start+1 : start+end+3]
}

// wait_until returns as soon as its command ends, also when the command
// ends before the watchdog has set its trap. A stop signal the watchdog
// loses (SIGTERM, which the script traps: a fresh subshell keeps that
// handler for a moment) left wait_until waiting until the deadline: a
// manager's start stalled for its whole registration budget, seen in a unit
// test's run on a busy machine. Here every command ends at once, 20 times,
// each with a deadline ten minutes away; the harness is stopped after a
// minute, which only a wait for some deadline can reach.
func TestWaitUntilReturnsWhenItsCommandEnds(t *testing.T) {
	var harness []string
	for _, name := range []string{"now", "wait_until", "watchdog_for"} {
		harness = append(harness, shellFunction(t, entrypoint.Script, name))
	}
	harness = append(harness, `trap 'exit 143' TERM
trap 'exit 131' QUIT
trap 'exit 130' INT
i=0
while [ "$i" -lt 20 ]; do
	wait_until $(($(now) + 600)) true
	i=$((i + 1))
done
echo "all returned"
`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", strings.Join(harness, "\n"))
	// At the minute, the harness's whole process group goes: its watchdogs
	// hold the output open.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.CombinedOutput()
	require.NoError(t, ctx.Err(), "wait_until still waited after a minute: it waits for a watchdog that lost its stop signal (output: %s)", out)
	require.NoError(t, err, string(out))
	assert.Equal(t, "all returned\n", string(out))
}

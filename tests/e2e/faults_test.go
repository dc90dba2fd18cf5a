//go:build e2e

package e2e

// Fault tests: what the program and the engine do when the world does not
// behave. Objects edited or deleted behind Pulumi's back (drift), GitLab
// failing, an `up` interrupted half way, and a stack file that cannot be
// valid. Every stack and fleet here is named fault-* so that other tests
// sharing the backend, the cluster and the GitLab stand-in never see them.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/localengine"
)

// faultDescription is a fleet's runner description in GitLab when the stack
// does not set one: "<fleet> (<stack>)".
func faultDescription(s *testStack, fleetName string) string {
	return fleetName + " (" + s.name + ")"
}

// faultRunner is what these tests read of a GitLab runner.
type faultRunner struct {
	ID          int    `json:"id"`
	Description string `json:"description"`
}

// faultRunners lists every runner GitLab holds with this description (the
// admin list, all pages).
func faultRunners(t *testing.T, description string) []faultRunner {
	t.Helper()
	return faultRunnersIn(t, "runners/all", description)
}

// faultGroupRunners lists the runners of a group with this description. Its
// path is not under /runners/, so it works while faultHoldCreate is in force.
func faultGroupRunners(t *testing.T, groupID int, description string) []faultRunner {
	t.Helper()
	return faultRunnersIn(t, fmt.Sprintf("groups/%d/runners", groupID), description)
}

// faultRunnersIn lists the runners of an API list (all pages) with this
// description.
func faultRunnersIn(t *testing.T, list, description string) []faultRunner {
	t.Helper()
	var found []faultRunner
	for page := 1; ; page++ {
		status, body := h.gitlab(t, http.MethodGet, fmt.Sprintf("%s?per_page=100&page=%d", list, page), nil)
		require.Equal(t, http.StatusOK, status, string(body))
		var runners []faultRunner
		require.NoError(t, json.Unmarshal(body, &runners))
		for _, r := range runners {
			if r.Description == description {
				found = append(found, r)
			}
		}
		if len(runners) < 100 {
			return found
		}
	}
}

// faultInject makes the stand-in fail the next matching API requests (see
// tools/gitlab/faults.go); the fault is cleared when the test ends, before
// the stack is destroyed.
func faultInject(t *testing.T, status, count int, method, path string) {
	t.Helper()
	code, body := h.gitlab(t, http.MethodPost, "/-/standin/faults",
		map[string]any{"status": status, "count": count, "method": method, "path": path})
	require.Equal(t, http.StatusCreated, code, string(body))
	t.Cleanup(func() { faultClear(t) })
}

func faultClear(t *testing.T) {
	t.Helper()
	code, body := h.gitlab(t, http.MethodDelete, "/-/standin/faults", nil)
	require.Equal(t, http.StatusNoContent, code, string(body))
}

// faultsLeft is how many failures the injected fault still has in store.
func faultsLeft(t *testing.T) int {
	t.Helper()
	code, body := h.gitlab(t, http.MethodGet, "/-/standin/faults", nil)
	require.Equal(t, http.StatusOK, code, string(body))
	var f struct {
		Count int `json:"count"`
	}
	require.NoError(t, json.Unmarshal(body, &f))
	return f.Count
}

// faultHoldRetries is the gitlab provider's retry count (stack setting
// gitlab:retries) of stacks whose runner create a test holds open: with
// client-go's linear backoff (0.1-0.4 s times the attempt) a read-back that
// keeps failing is retried for minutes, until the test clears the fault. The
// default 3 retries would end the window within about 2 s.
const faultHoldRetries = 100

// faultHeld is the number of failures faultHoldCreate injects: more than the
// read-backs of one create.
const faultHeld = 1000

// faultHoldCreate holds the next runner create open: the provider reads a new
// runner back (GET /runners/:id) after GitLab created it, and that read-back
// fails until the test clears the fault. The stack must have
// gitlab:retries set to faultHoldRetries from its first up on.
func faultHoldCreate(t *testing.T) {
	t.Helper()
	faultInject(t, http.StatusInternalServerError, faultHeld, http.MethodGet, "/api/v4/runners/")
}

// faultAwaitHeldCreate waits until a create held by faultHoldCreate is in
// its window: GitLab holds want runners with the description in the group
// (GitLab answered the POST) and the provider's read-back has begun to fail.
// It fails as soon as the up (done) ends instead.
func faultAwaitHeldCreate(t *testing.T, done <-chan error, progress *lockedWriter, groupID int, description string, want int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for len(faultGroupRunners(t, groupID, description)) < want || faultsLeft(t) == faultHeld {
		select {
		case err := <-done:
			t.Fatalf("up ended before its runner create was held open: %v\nengine:\n%s", err, tail(progress.String(), 40))
		case <-time.After(50 * time.Millisecond):
		}
		require.True(t, time.Now().Before(deadline), "the runner create was never held open; engine:\n%s", tail(progress.String(), 40))
	}
}

// faultAwaitEnd waits for the up running in the background to return, and
// fails if it does not.
func faultAwaitEnd(t *testing.T, done <-chan error, progress *lockedWriter, what string) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(2 * time.Minute):
		t.Fatalf("up did not return after %s; engine:\n%s", what, tail(progress.String(), 40))
		return nil
	}
}

// faultStatefulSetReady reports whether the fleet's StatefulSet exists and has all
// its replicas ready.
func faultStatefulSetReady(t *testing.T, fleetName string) bool {
	t.Helper()
	sets := fleetObjects(t, "statefulsets", "gitlab-runner-"+fleetName, fleetName)
	return len(sets) == 1 && sets[0].Spec.Replicas > 0 && sets[0].Status.ReadyReplicas == sets[0].Spec.Replicas
}

// faultAssertNoChanges previews and expects nothing to do.
func faultAssertNoChanges(t *testing.T, s *testStack) {
	t.Helper()
	steps, res := s.previewSteps(t)
	assert.Empty(t, steps, "preview plans no step")
	assert.Empty(t, changes(res.ChangeSummary), "preview shows no changes")
}

// faultMountedSecret is the Secret the fleet's StatefulSet mounts as its token.
func faultMountedSecret(t *testing.T, fleetName string) string {
	t.Helper()
	return h.mustKubectl(t, "get", "statefulset", fleetName, "-n", "gitlab-runner-"+fleetName,
		"-o", `jsonpath={.spec.template.spec.volumes[?(@.name=="token")].secret.secretName}`)
}

func TestFaultDriftSecretDeleted(t *testing.T) {
	const name = "fault-secret"
	ns := "gitlab-runner-" + name
	s := newStack(t, "fault-drift-secret", groupFleet(name, 31))
	s.up(t)
	waitReady(t, ns, name)
	oldSecret, token := tokenSecret(t, name)
	require.True(t, strings.HasPrefix(token, "glrt-"), "a runner authentication token")

	h.mustKubectl(t, "delete", "secret", oldSecret, "-n", ns)

	// refresh notices that the Secret is gone and drops it from the state.
	refresh := s.refresh(t)
	assert.Equal(t, map[string]int{"delete": 1}, changes(*refresh.Summary.ResourceChanges))

	// up creates it again (under a new generated name) with the token the
	// state kept (GitLab never hands a token out twice), and the StatefulSet
	// switches its mount to it.
	up := s.up(t)
	assert.Equal(t, map[string]int{"create": 1, "update": 1}, changes(*up.Summary.ResourceChanges))
	waitReady(t, ns, name)
	newSecret, restored := tokenSecret(t, name)
	assert.Equal(t, token, restored, "the Secret holds the same runner token again")
	assert.Equal(t, newSecret, faultMountedSecret(t, name), "the managers mount the restored Secret")

	faultAssertNoChanges(t, s)
}

func TestFaultDriftRoleEdited(t *testing.T) {
	const name = "fault-role"
	jobs := "gitlab-runner-" + name + "-jobs"
	role := name + "-executor"
	s := newStack(t, "fault-drift-role", groupFleet(name, 32))
	s.up(t)
	again, _ := upSteps(t, s)
	assert.Empty(t, again, "an up right after an up changes nothing")
	// The refresh below must not read the managers mid-rollout: the
	// provider's refresh checks a StatefulSet's readiness (pulumi.com/waitFor
	// replaces that check on create and update only), records "created but
	// failed to initialize" while a manager is not ready yet, and the next up
	// then updates the StatefulSet again (no change, only to clear that
	// mark). This test is about the Role alone.
	waitReady(t, "gitlab-runner-"+name, name)
	rules := func() string {
		return h.mustKubectl(t, "get", "role", role, "-n", jobs, "-o", "jsonpath={.rules}")
	}
	original := rules()
	require.NotContains(t, original, `"*"`, "the program never grants a wildcard")

	// Someone widens the Role to everything and takes "delete" away from
	// pods (rules are sorted by resource: events, pods, ...).
	h.mustKubectl(t, "patch", "role", role, "-n", jobs, "--type=json", "-p", `[
		{"op":"test","path":"/rules/1/resources/0","value":"pods"},
		{"op":"test","path":"/rules/1/verbs/1","value":"delete"},
		{"op":"remove","path":"/rules/1/verbs/1"},
		{"op":"add","path":"/rules/-","value":{"apiGroups":["*"],"resources":["*"],"verbs":["*"]}}]`)
	require.Contains(t, rules(), `"*"`)

	refresh := s.refresh(t)
	assert.Equal(t, map[string]int{"update": 1}, changes(*refresh.Summary.ResourceChanges), "refresh sees the edited Role")
	steps, up := upSteps(t, s)
	assert.Equal(t, []engineStep{{apitype.OpUpdate, "kubernetes:rbac.authorization.k8s.io/v1:Role " + role}}, steps, "up puts the Role back, and nothing else")
	assert.Equal(t, map[string]int{"update": 1}, changes(*up.Summary.ResourceChanges), "up puts the Role back")
	assert.Equal(t, original, rules(), "exactly the program's rules again")

	faultAssertNoChanges(t, s)
}

func TestFaultGitlabUnavailable(t *testing.T) {
	for _, tc := range []struct {
		status   int
		group    int
		answer   string
		attempts int // a runner create is never resent: a 5xx may come after GitLab made the runner
	}{
		{http.StatusInternalServerError, 33, `500 {message: 500 Internal Server Error}`, 1},
		{http.StatusUnauthorized, 34, `401 {message: 401 Unauthorized}`, 1},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			name := fmt.Sprintf("fault-gl%d", tc.status)
			ns := "gitlab-runner-" + name
			s := newStack(t, fmt.Sprintf("fault-gitlab-%d", tc.status), groupFleet(name, tc.group))
			description := faultDescription(s, name)

			// More failures in store than the provider's retries can use up.
			const injected = 20
			faultInject(t, tc.status, injected, http.MethodPost, "/api/v4/user/runners")
			_, err := s.stack.Up(context.Background(), optup.ProgressStreams(&s.log))
			require.Error(t, err, "up must fail while GitLab refuses to create the runner")
			assert.Contains(t, err.Error(), "couldn't create new GitLab Runner: POST "+h.gitlabAPI+"user/runners: "+tc.answer)
			assert.Equal(t, tc.attempts, injected-faultsLeft(t), "requests the provider sent")

			// Nothing half-wired: no runner, and neither the Secret (it needs
			// the token) nor the StatefulSet (it mounts the Secret).
			assert.Empty(t, faultRunners(t, description))
			assert.Empty(t, fleetObjects(t, "secrets", ns, name), "no token Secret without a token")
			assert.Empty(t, fleetObjects(t, "statefulsets", ns, name), "no StatefulSet without its Secret")

			// Once GitLab answers again, the same stack converges.
			faultClear(t)
			s.up(t)
			waitReady(t, ns, name)
			runners := faultRunners(t, description)
			require.Len(t, runners, 1, "exactly one runner for the fleet")
			assert.Equal(t, fmt.Sprint(runners[0].ID), s.runnerID(t, name))
		})
	}
}

// TestFaultInterruptedUp cancels the context of an up while GitLab holds
// the runner but the engine has not heard of it yet: the runner's create is
// held open (faultHoldCreate). The Automation API does not kill the CLI: it
// sends SIGINT (and SIGKILL only if the CLI is still running 10 s later,
// exec.Cmd.WaitDelay). On SIGINT the CLI starts no new step, tells the
// providers to cancel and waits for the steps in flight to return (the
// cancelled create reports the runner it made, which is recorded as created
// but not initialized, and updated by the next up), then writes the
// checkpoint and releases the stack lock. So no recovery step is needed: a
// plain up finishes the job.
//
// Had the CLI been killed instead, the remedies would be s.stack.Cancel (the
// DIY backend then deletes the stale lock) and, for a create cut off mid-way,
// a refresh with optrefresh.ImportPendingCreates (mapping the URN to the
// runner's id in GitLab). optrefresh.ClearPendingCreates would only forget
// the runner, and the next up would create a second one. The test asserts
// the state that makes a plain up safe, so it fails loudly if that changes.
func TestFaultInterruptedUp(t *testing.T) {
	const name, group = "fault-intr", 35
	ns := "gitlab-runner-" + name
	s := newStack(t, "fault-interrupt", groupFleet(name, group))
	s.setConfig(t, "gitlab:retries", faultHoldRetries)
	description := faultDescription(s, name)

	faultHoldCreate(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	progress := &lockedWriter{}
	done := make(chan error, 1)
	go func() {
		_, err := s.stack.Up(ctx, optup.ProgressStreams(progress))
		done <- err
	}()

	start := time.Now()
	faultAwaitHeldCreate(t, done, progress, group, description, 1)
	require.False(t, faultStatefulSetReady(t, name), "the interruption must come before the StatefulSet is Ready")
	cancel()
	cancelled := time.Now()
	err := faultAwaitEnd(t, done, progress, "its context was cancelled")
	faultClear(t)
	require.Error(t, err, "the interrupted up reports a failure")
	assert.Contains(t, err.Error(), "^C received; cancelling", "the CLI was interrupted")
	// It exited on its own: the Automation API did not have to kill it.
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "the CLI's exit status")
	status, ok := exit.Sys().(syscall.WaitStatus)
	require.True(t, ok)
	assert.False(t, status.Signaled(), "the CLI exited on its own, not killed by %v", status.Signal())
	t.Logf("interrupted %v after start, returned %v after:\n%s", cancelled.Sub(start), time.Since(cancelled), tail(progress.String(), 25))

	// The checkpoint is clean: no operation left pending, and the runner is
	// recorded under GitLab's id, so the next up will not create another.
	runners := faultRunners(t, description)
	require.Len(t, runners, 1)
	d := deployment(t, s)
	assert.Empty(t, d.PendingOperations, "no pending operation after SIGINT")
	recorded := ""
	for _, r := range d.Resources {
		if r.Type == "gitlab:index/userRunner:UserRunner" {
			recorded = string(r.ID)
		}
	}
	assert.Equal(t, fmt.Sprint(runners[0].ID), recorded, "the state holds the runner GitLab created")

	// A plain up converges, with the very same runner.
	s.up(t)
	waitReady(t, ns, name)
	after := faultRunners(t, description)
	require.Len(t, after, 1, "no duplicate runner")
	assert.Equal(t, runners[0].ID, after[0].ID)
	assert.Equal(t, fmt.Sprint(after[0].ID), s.runnerID(t, name))
	faultAssertNoChanges(t, s)
}

func TestFaultBadConfig(t *testing.T) {
	const name = "fault-bad"
	bad := groupFleet(name, 36)
	bad["manager"] = map[string]any{"replicas": 100}
	bad["runner"].(map[string]any)["tagz"] = []string{"x"}
	s := newStack(t, "fault-bad-config", bad)
	ctx := context.Background()

	assertRejected := func(op string, err error) {
		t.Helper()
		require.Error(t, err, "%s must fail", op)
		msg := err.Error()
		assert.Contains(t, msg, "invalid stack configuration (2 problem(s)); nothing was created", op)
		assert.Contains(t, msg, "fleets[0] (fault-bad).manager.replicas: must be between 0 and 50, got 100", op)
		assert.Contains(t, msg, `fleets[0] (fault-bad).runner.tagz: unknown setting (did you mean "tags"?)`, op)
	}
	_, err := s.stack.Preview(ctx, optpreview.ProgressStreams(&s.log))
	assertRejected("preview", err)
	_, err = s.stack.Up(ctx, optup.ProgressStreams(&s.log))
	assertRejected("up", err)

	// Nothing exists anywhere: no namespace, no runner, and the state holds
	// at most the stack itself (the engine registers it before the program runs).
	for _, ns := range []string{"gitlab-runner-" + name, "gitlab-runner-" + name + "-jobs"} {
		out, err := h.kubectl(t, "get", "namespace", ns)
		assert.Error(t, err, "namespace %s must not exist", ns)
		assert.Contains(t, out, "NotFound", ns)
	}
	assert.Empty(t, faultRunners(t, faultDescription(s, name)))
	d := deployment(t, s)
	for _, r := range d.Resources {
		assert.Equal(t, "pulumi:pulumi:Stack", string(r.Type), "unexpected resource %s", r.URN)
	}
	assert.Empty(t, d.PendingOperations)
}

// lockedWriter lets the test read the engine's output while it is written.
type lockedWriter struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// killEngine SIGKILLs the pulumi CLI running `up` on a stack, and the plugins
// it started, as a crash would: nothing gets to clean up.
func killEngine(t *testing.T, stack string) {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	var cli []int
	parents := map[int]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The parent pid is the 2nd field after the command, which is in parentheses.
		if fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:])); len(fields) > 1 {
			parents[pid], _ = strconv.Atoi(fields[1])
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		args := strings.Split(string(cmdline), "\x00")
		if filepath.Base(args[0]) == "pulumi" && slices.Contains(args, "up") && slices.Contains(args, "--stack") &&
			slices.Contains(args, stack) {
			cli = append(cli, pid)
		}
	}
	require.Len(t, cli, 1, "one pulumi up running for %s", stack)
	for pid, parent := range parents {
		if parent == cli[0] {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	require.NoError(t, syscall.Kill(cli[0], syscall.SIGKILL))
}

// TestFaultKilledEngine kills the engine (SIGKILL, no chance to clean up) at
// the worst moment: GitLab has created the runner, but the provider has not
// answered the engine yet (the create is held open, faultHoldCreate), so the
// state holds the runner only as a pending create and its token is lost. A
// plain up then fails on the stale lock. localengine.Recover (`go run
// ./cmd/local recover`) removes the lock, deletes the runner nobody can use
// and drops the pending creates; the next up converges with exactly one
// runner.
func TestFaultKilledEngine(t *testing.T) {
	const name, group = "fault-kill", 37
	ns := "gitlab-runner-" + name
	s := newStack(t, "fault-kill", groupFleet(name, group))
	s.setConfig(t, "gitlab:retries", faultHoldRetries)
	description := faultDescription(s, name)

	// Hold the runner's create open (its read-back fails) and kill the
	// engine inside that window.
	faultHoldCreate(t)
	progress := &lockedWriter{}
	done := make(chan error, 1)
	go func() {
		_, err := s.stack.Up(context.Background(), optup.ProgressStreams(progress))
		done <- err
	}()
	faultAwaitHeldCreate(t, done, progress, group, description, 1)
	killEngine(t, s.name)
	require.Error(t, faultAwaitEnd(t, done, progress, "its engine was killed"))
	faultClear(t)

	runners := faultRunners(t, description)
	require.Len(t, runners, 1, "GitLab created the runner before the kill")
	pending, err := localengine.PendingCreates(context.Background(), s.stack)
	require.NoError(t, err)
	var pendingTypes []string
	for _, p := range pending {
		pendingTypes = append(pendingTypes, p.Type)
	}
	assert.Contains(t, pendingTypes, "gitlab:index/userRunner:UserRunner", "the runner is only a pending create")
	_, err = s.stack.Up(context.Background())
	require.Error(t, err, "a plain up must not run over the killed engine's leftovers")
	assert.Contains(t, err.Error(), "locked", "the killed engine's lock is left behind")

	var recovery strings.Builder
	require.NoError(t, localengine.Recover(context.Background(), s.stack, localengine.ProjectCleaner(h.gitlabAPI, h.token), &recovery),
		recovery.String())
	assert.Contains(t, recovery.String(), fmt.Sprintf("deleted runner %d in GitLab", runners[0].ID))
	assert.Empty(t, faultRunners(t, description), "the runner whose token was lost is gone")

	s.up(t)
	waitReady(t, ns, name)
	after := faultRunners(t, description)
	require.Len(t, after, 1, "no duplicate runner; recovery:\n%s\nengine:\n%s", recovery.String(), tail(s.log.String(), 60))
	assert.Equal(t, fmt.Sprint(after[0].ID), s.runnerID(t, name))
	faultAssertNoChanges(t, s)
}

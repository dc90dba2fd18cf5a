package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"regexp"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testDriver(interactive bool, stdin string) (*driver, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &driver{out: &out, errOut: &errOut, confirm: confirmer{in: strings.NewReader(stdin), out: &errOut, interactive: interactive}}, &out, &errOut
}

// --help lists the driver's flags, never those other packages register on
// the process's default flag set (the Pulumi SDK's glog: -v, -logtostderr...).
func TestHelpShowsOurFlagsOnly(t *testing.T) {
	var theirs []string
	flag.CommandLine.VisitAll(func(f *flag.Flag) { theirs = append(theirs, f.Name) })
	require.Contains(t, theirs, "logtostderr", "the SDK's glog flags are there to leak")
	for _, args := range [][]string{{"--help"}, {"help"}, {"preview", "--help"}, {"up", "--help"}, {"destroy", "--help"},
		{"config", "set", "--help"}, {"stack", "output", "--help"}, {"stack", "--help"}} {
		d, _, errOut := testDriver(false, "")
		err := d.run(context.Background(), args)
		if err != nil {
			require.ErrorIs(t, err, flag.ErrHelp, "%v", args)
		}
		help := errOut.String()
		assert.Contains(t, help, "-stack", "%v", args)
		for _, name := range theirs {
			assert.NotRegexp(t, `(?m)^  -`+regexp.QuoteMeta(name)+`(\s|$)`, help, "%v shows -%s, a flag of another package", args, name)
		}
	}
	d, _, errOut := testDriver(false, "")
	require.ErrorIs(t, d.run(context.Background(), []string{"up", "--help"}), flag.ErrHelp)
	for _, ours := range []string{"diff", "target", "target-dependents", "replace", "parallel", "message", "yes", "skip-preview", "refresh"} {
		assert.Regexp(t, `(?m)^  -`+ours+`( |$)`, errOut.String())
	}
}

// Without a terminal, up, refresh, destroy and stack rm need --yes (or
// --skip-preview), as with pulumi; the check comes before anything runs
// (here: before the missing Pulumi.yaml is noticed).
func TestConfirmationsNeedYesWithoutATerminal(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, args := range [][]string{{"up"}, {"refresh"}, {"destroy"}, {"stack", "rm"}} {
		d, _, _ := testDriver(false, "")
		assert.ErrorIs(t, d.run(context.Background(), args), errNotInteractive, "%v", args)
	}
	for _, args := range [][]string{{"up", "--yes"}, {"up", "-y"}, {"up", "--skip-preview"}, {"destroy", "-f"}, {"stack", "rm", "--yes"}} {
		d, _, _ := testDriver(false, "")
		err := d.run(context.Background(), args)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "run from the repository root", "%v goes on to open the stack", args)
	}
	t.Setenv("PULUMI_SKIP_CONFIRMATIONS", "true")
	d, _, _ := testDriver(false, "")
	assert.Contains(t, d.run(context.Background(), []string{"up"}).Error(), "run from the repository root")
}

func TestConfirmationTakesOnlyYes(t *testing.T) {
	for answer, want := range map[string]bool{"yes\n": true, "YES\n": true, "y\n": false, "no\n": false, "\n": false} {
		c := confirmer{in: strings.NewReader(answer), out: &bytes.Buffer{}, interactive: true}
		got, err := c.ask("Do you want to perform this update?")
		require.NoError(t, err)
		assert.Equal(t, want, got, "%q", answer)
	}
}

// Flags go before, between or after the arguments, as with pulumi; "--"
// ends them.
func TestFlagsAnywhere(t *testing.T) {
	parseSet := func(args ...string) (bool, []string, error) {
		fs := newFlags("config set", "config set", &bytes.Buffer{})
		var secret bool
		fs.bool(&secret, "secret", "", "")
		positional, err := parse(fs, args, 1, 2)
		return secret, positional, err
	}
	for _, args := range [][]string{{"--secret", "k", "v"}, {"k", "--secret", "v"}, {"k", "v", "--secret"}} {
		secret, positional, err := parseSet(args...)
		require.NoError(t, err, "%v", args)
		assert.True(t, secret, "%v", args)
		assert.Equal(t, []string{"k", "v"}, positional, "%v", args)
	}
	secret, positional, err := parseSet("k", "--", "--secret")
	require.NoError(t, err)
	assert.False(t, secret)
	assert.Equal(t, []string{"k", "--secret"}, positional, "a value after -- is a value")
	_, _, err = parseSet("k", "v", "w")
	assert.ErrorIs(t, err, errUsage)

	fs := newFlags("up", "up", &bytes.Buffer{})
	fs.target()
	fs.replace()
	_, err = parse(fs, []string{"--target", "urn:a", "--replace", "urn:b", "--target", "urn:c"}, 0, 0)
	require.NoError(t, err)
	assert.Equal(t, urns{"urn:a", "urn:c"}, fs.engine.target)
	assert.Equal(t, urns{"urn:b"}, fs.engine.replace)
}

// The Automation API's error repeats the command's whole output; the driver
// shows the CLI's own error, once.
func TestEngineErrorIsTheCLIsOwn(t *testing.T) {
	wrapped := errors.New("failed to run update: exit status 255\ncode: 255\nstdout: Updating (dev):\n... every line of the display ...\n\nstderr: error: the stack is currently locked by 1 lock(s)\n")
	assert.EqualError(t, engineError(wrapped), "the stack is currently locked by 1 lock(s)")
	assert.ErrorIs(t, streamedError(wrapped), errEngineFailed)
	own := errors.New("recover needs gitlab:baseUrl")
	assert.Equal(t, own, engineError(own))
	assert.Equal(t, own, streamedError(own))
	assert.NoError(t, engineError(nil))
}

// --diff shows a ConfigMap's multi-line text whole: every line, the
// removed and added ones marked, once however often the engine announces
// the step; single-line values and unchanged texts are left to the engine.
func TestTextChangesShowTheWholeText(t *testing.T) {
	c := collectTextChanges()
	step := apitype.StepEventMetadata{
		Op: apitype.OpReplace, URN: "urn:pulumi:dev::gitlab-runner-fleet::gitlab-runner-fleet:index:RunnerFleet$kubernetes:core/v1:ConfigMap::lab-config",
		Type: "kubernetes:core/v1:ConfigMap",
		Old: &apitype.StepEventStateMetadata{Outputs: map[string]any{"data": map[string]any{
			"config.toml": "concurrent = 10\ncheck_interval = 3\nlog_level = \"info\"\nshutdown_timeout = 30\n",
			"same.toml":   "a = 1\nb = 2\n", "short": "x"}}},
		New: &apitype.StepEventStateMetadata{Inputs: map[string]any{"data": map[string]any{
			"config.toml": "concurrent = 7\ncheck_interval = 3\nlog_level = \"info\"\nshutdown_timeout = 30\n",
			"same.toml":   "a = 1\nb = 2\n", "short": "y"}}},
	}
	for range 2 {
		c.events <- events.EngineEvent{EngineEvent: apitype.EngineEvent{ResourcePreEvent: &apitype.ResourcePreEvent{Metadata: step}}}
	}
	create := step
	create.Op, create.Old = apitype.OpCreate, nil
	create.URN = strings.Replace(step.URN, "lab-config", "new-config", 1)
	c.events <- events.EngineEvent{EngineEvent: apitype.EngineEvent{ResourcePreEvent: &apitype.ResourcePreEvent{Metadata: create}}}
	close(c.events)
	var out bytes.Buffer
	c.print(&out)
	assert.Equal(t, `
ConfigMap lab-config, config.toml, whole (- before, + after):
  - concurrent = 10
  + concurrent = 7
    check_interval = 3
    log_level = "info"
    shutdown_timeout = 30

ConfigMap new-config, config.toml, whole (- before, + after):
  + concurrent = 7
  + check_interval = 3
  + log_level = "info"
  + shutdown_timeout = 30

ConfigMap new-config, same.toml, whole (- before, + after):
  + a = 1
  + b = 2
`, out.String())
}

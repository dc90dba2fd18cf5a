//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/utilities"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/debug"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optremove"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// BenchmarkFloor compares the program with the engine's floor (`make bench`;
// never part of the tests, and nothing here asserts on a timing).
//
// For N fleets, the program's stack (N RunnerFleets) is measured beside a
// floor stack holding the same resources with no program logic: each fleet's
// Kubernetes objects, as the program renders them, in one yaml/v2 ConfigFile,
// and its GitLab runner registered with the same inputs. Same CLI, providers,
// backend and cluster, in the same run, alternating the two sides step by
// step so that a burst of load elsewhere hits both.
//
// The runner: a UserRunner is not a Kubernetes object, but it is one of the
// fleet's resources, and the engine pays for it (Check, Diff, a create in
// GitLab) whatever the program does. So the floor holds N of them too, with
// the inputs the program gave its runner (read back from the rendered stack's
// state), and every Kubernetes object of a fleet waits for its runner as in
// the program; the two sides then differ only by the program's own work. The
// preview of both sides must plan the same number of creates, and both no-op
// `up`s must change nothing: otherwise the benchmark fails (a wrong floor, not
// a slow one).
//
// Reported per N (GLRF_BENCH_FLEETS, default 1,10,50,100): s/preview-N-fleets,
// s/floor-preview-N-fleets, s/noop-up-N-fleets, s/floor-noop-up-N-fleets,
// s/preview-skipcp-N-fleets and its floor (the same previews with the engine's
// intermediate checkpoints skipped, which a preview does not need), the
// ratios program/floor, s/up-N-fleets (and with GLRF_BENCH_DESTROY=1
// s/destroy-N-fleets) and their floors for context, and the growth from 10
// to 100 fleets. With -v, each count's figures print as soon as measured.
//
// Profiling: GLRF_BENCH_TRACE=<dir> writes the engine's trace of every timed
// operation (--tracing=file:...) there; `go test -cpuprofile` profiles the
// program (it runs inline, in the benchmark's process).
func BenchmarkFloor(b *testing.B) {
	counts := benchFleetCounts(b)
	fleet := renderFleet(b)
	b.ReportMetric(float64(len(fleet.objects)), "k8s-objects/fleet")
	b.Logf("floor fleet: %d Kubernetes objects (%s) and a UserRunner", len(fleet.objects), strings.Join(fleet.kinds(), ", "))

	took := map[string]time.Duration{}
	for i := 0; i < b.N; i++ {
		for _, n := range counts {
			prefix := fmt.Sprintf("b%d%d", i, n) // distinct names per run and count
			program := newStack(b, fmt.Sprintf("bench-program-%d-%d", n, i), benchFleets(prefix+"p", n)...)
			floor := newFloorStack(b, fmt.Sprintf("bench-floor-%d-%d", n, i), fleet, prefix+"f", n)
			sides := []struct {
				name string // "" for the program, "floor-" for the floor
				s    *testStack
			}{{"", program}, {"floor-", floor}}
			if i%2 == 1 { // the floor goes first every other run
				sides[0], sides[1] = sides[1], sides[0]
			}
			if benchNoopOnly {
				for _, side := range sides {
					settle(b, side.s) // creates it, untimed
					settle(b, side.s)
				}
				for _, side := range sides {
					took[fmt.Sprintf("%snoop-up-%d", side.name, n)] += benchOp(b, side.s, "noop-up", n, func() {
						res := benchUp(b, side.s, "noop-up", n)
						require.Empty(b, changes(*res.Summary.ResourceChanges), "a second up must change nothing")
					})
				}
				discard(b, program, floor)
				progress(took, n, "noop-up")
				continue
			}
			var created [2]int
			for k, side := range sides {
				took[fmt.Sprintf("%spreview-%d", side.name, n)] += benchOp(b, side.s, "preview", n, func() {
					res, err := side.s.stack.Preview(context.Background(), benchPreviewOpts(b, side.s, "preview", n)...)
					require.NoError(b, err, "preview: %s", tail(side.s.log.String(), 40))
					created[k] = res.ChangeSummary["create"]
				})
			}
			require.Equal(b, created[0], created[1], "the program and the floor must plan the same number of creates")
			// The same previews without the engine's intermediate checkpoints
			// (PULUMI_SKIP_CHECKPOINTS): a preview writes no state, so what it
			// shows must not change, and the plan must be the same.
			for _, side := range sides {
				took[fmt.Sprintf("%spreview-skipcp-%d", side.name, n)] += benchOp(b, side.s, "preview-skipcp", n, func() {
					ws := side.s.stack.Workspace()
					ws.SetEnvVar("PULUMI_SKIP_CHECKPOINTS", "true")
					defer ws.UnsetEnvVar("PULUMI_SKIP_CHECKPOINTS")
					res, err := side.s.stack.Preview(context.Background(), benchPreviewOpts(b, side.s, "preview-skipcp", n)...)
					require.NoError(b, err, "preview: %s", tail(side.s.log.String(), 40))
					require.Equal(b, created[0], res.ChangeSummary["create"], "skipping checkpoints changed the preview's plan")
				})
			}
			if benchPreviewOnly {
				discard(b, program, floor)
				progress(took, n, "preview", "preview-skipcp")
				continue
			}
			for _, side := range sides {
				took[fmt.Sprintf("%sup-%d", side.name, n)] += benchOp(b, side.s, "up", n, func() { benchUp(b, side.s, "up", n) })
			}
			for _, side := range sides {
				settle(b, side.s)
			}
			for _, side := range sides {
				took[fmt.Sprintf("%snoop-up-%d", side.name, n)] += benchOp(b, side.s, "noop-up", n, func() {
					res := benchUp(b, side.s, "noop-up", n)
					require.Empty(b, changes(*res.Summary.ResourceChanges), "a second up must change nothing")
				})
			}
			if !benchDestroy {
				discard(b, program, floor)
				progress(took, n, "preview", "preview-skipcp", "up", "noop-up")
				continue
			}
			for _, side := range sides {
				took[fmt.Sprintf("%sdestroy-%d", side.name, n)] += benchOp(b, side.s, "destroy", n, func() {
					_, err := side.s.stack.Destroy(context.Background(), optdestroy.ProgressStreams(&side.s.log))
					require.NoError(b, err, "destroy: %s", tail(side.s.log.String(), 40))
				})
			}
			progress(took, n, "preview", "preview-skipcp", "up", "noop-up", "destroy")
		}
	}

	runs := float64(b.N)
	seconds := func(key string) float64 { return took[key].Seconds() / runs }
	for _, n := range counts {
		for _, op := range []string{"preview", "preview-skipcp", "noop-up", "up", "destroy"} {
			if op == "destroy" && !benchDestroy || benchPreviewOnly && op != "preview" && op != "preview-skipcp" ||
				benchNoopOnly && op != "noop-up" {
				continue
			}
			program, floor := seconds(fmt.Sprintf("%s-%d", op, n)), seconds(fmt.Sprintf("floor-%s-%d", op, n))
			b.ReportMetric(program, fmt.Sprintf("s/%s-%d-fleets", op, n))
			b.ReportMetric(floor, fmt.Sprintf("s/floor-%s-%d-fleets", op, n))
			b.ReportMetric(program/floor, fmt.Sprintf("%s-%d-fleets/floor", op, n))
		}
	}
	if took["preview-10"]+took["noop-up-10"] > 0 && took["preview-100"]+took["noop-up-100"] > 0 {
		for _, op := range []string{"preview", "preview-skipcp", "noop-up"} {
			if benchPreviewOnly && op == "noop-up" || benchNoopOnly && op != "noop-up" {
				continue
			}
			b.ReportMetric(seconds(op+"-100")/seconds(op+"-10"), op+"-x100/x10")
			b.ReportMetric(seconds("floor-"+op+"-100")/seconds("floor-"+op+"-10"), "floor-"+op+"-x100/x10")
		}
	}
}

// benchDestroy: GLRF_BENCH_DESTROY=1 also times destroy of both sides. It
// is off by default because destroy, which waits for every object to be
// gone, takes longer than the rest together from 50 fleets on (15 minutes per
// side for 50 fleets here); without it, the benchmark deletes both stacks'
// namespaces and admission policies with kubectl and forgets the stacks.
var benchDestroy = os.Getenv("GLRF_BENCH_DESTROY") == "1"

// benchPreviewOnly: GLRF_BENCH_PREVIEW_ONLY=1 measures the previews only.
var benchPreviewOnly = os.Getenv("GLRF_BENCH_PREVIEW_ONLY") == "1"

// benchNoopOnly: GLRF_BENCH_NOOP_ONLY=1 measures the no-op `up`s only; the
// stacks are created untimed, without intermediate checkpoints (a timed
// create of 100 fleets takes over 25 minutes per side here, its checkpoints
// being quadratic), so that large counts fit in a shorter run.
var benchNoopOnly = os.Getenv("GLRF_BENCH_NOOP_ONLY") == "1"

// discard removes what the stacks created, untimed and faster than destroy:
// every namespace the fleets made (with all they hold) and the cluster-scoped
// admission policies, then the stacks themselves. Their runners stay in the
// suite's GitLab stand-in, which goes with the suite.
func discard(b *testing.B, stacks ...*testStack) {
	h.mustKubectl(b, "delete", "validatingadmissionpolicybindings,validatingadmissionpolicies",
		"-l", "app.kubernetes.io/part-of=gitlab-runner-fleet", "--wait=true")
	h.mustKubectl(b, "delete", "namespaces", "-l", "app.kubernetes.io/managed-by=pulumi", "--wait=true", "--timeout=15m")
	for _, s := range stacks {
		require.NoError(b, s.stack.Workspace().RemoveStack(context.Background(), s.name, optremove.Force()))
	}
}

// progress prints one count's figures as soon as they are measured (the
// benchmark's metrics come only at its end); run with -v to see them live.
func progress(took map[string]time.Duration, n int, ops ...string) {
	for _, op := range ops {
		program, floor := took[fmt.Sprintf("%s-%d", op, n)], took[fmt.Sprintf("floor-%s-%d", op, n)]
		fmt.Printf("bench: %3d fleets %-14s program %7.2fs floor %7.2fs ratio %.3f\n",
			n, op, program.Seconds(), floor.Seconds(), program.Seconds()/floor.Seconds())
	}
}

// settle runs an untimed `up` before the timed no-op one. The first `up` of
// a stack binds the resources a component provider registers (the floor's
// ConfigFile children) to an unversioned default Kubernetes provider: the
// inline program reports no plugins and the state is empty, so the engine
// knows no default version yet. The next `up` moves them to the versioned
// default provider the rest of the stack uses, rewriting the state for each
// of them; only the `up` after that is a real no-op. The move is no part of
// a no-op, so it is done here, on both sides, without intermediate
// checkpoints (PULUMI_SKIP_CHECKPOINTS, this `up` only) to keep it short.
func settle(b *testing.B, s *testStack) {
	ws := s.stack.Workspace()
	ws.SetEnvVar("PULUMI_SKIP_CHECKPOINTS", "true")
	defer ws.UnsetEnvVar("PULUMI_SKIP_CHECKPOINTS")
	_, err := s.stack.Up(context.Background(), optup.ProgressStreams(&s.log))
	require.NoError(b, err, "settling: %s", tail(s.log.String(), 40))
}

// benchFleetCounts are the fleet counts to measure: GLRF_BENCH_FLEETS
// ("10,50") or 1, 10, 50 and 100.
func benchFleetCounts(b *testing.B) []int {
	value := os.Getenv("GLRF_BENCH_FLEETS")
	if value == "" {
		return []int{1, 10, 50, 100}
	}
	var counts []int
	for _, field := range strings.Split(value, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		require.NoError(b, err, "GLRF_BENCH_FLEETS=%s", value)
		counts = append(counts, n)
	}
	return counts
}

// benchFleet is the benchmark's fleet: a group runner with the default
// settings, as a stack file would name it.
func benchFleet(name string, groupID int) fleet {
	return fleet{"name": name, "runner": map[string]any{"type": "group_type", "groupId": groupID, "tags": []string{"bench"}}}
}

func benchFleets(prefix string, n int) []fleet {
	fleets := make([]fleet, n)
	for j := range fleets {
		fleets[j] = benchFleet(fmt.Sprintf("%s-%d", prefix, j), 2+j%900)
	}
	return fleets
}

// benchOp times op; with GLRF_BENCH_PERF=<dir> it also records a
// system-wide perf profile of it there (every process: the CLI, the
// plugins, this process, the API server, etcd), outside the timed part.
func benchOp(b *testing.B, s *testStack, op string, n int, f func()) time.Duration {
	dir := os.Getenv("GLRF_BENCH_PERF")
	if dir == "" {
		return timed(f)
	}
	require.NoError(b, os.MkdirAll(dir, 0o755))
	out := filepath.Join(dir, fmt.Sprintf("%s-%s-%d.perf", s.name, op, n))
	perf := exec.Command("perf", "record", "--quiet", "-F", "499", "-a", "-g", "-o", out)
	perf.Stderr = os.Stderr
	require.NoError(b, perf.Start(), "GLRF_BENCH_PERF needs perf")
	time.Sleep(500 * time.Millisecond) // perf attaches to every CPU
	took := timed(f)
	require.NoError(b, perf.Process.Signal(os.Interrupt))
	_ = perf.Wait() // it exits by the signal
	_, err := os.Stat(out)
	require.NoError(b, err, "perf wrote no profile")
	return took
}

// benchTrace is the engine's trace option for one timed operation, when
// GLRF_BENCH_TRACE names a folder.
func benchTrace(b *testing.B, s *testStack, op string, n int) (debug.LoggingOptions, bool) {
	dir := os.Getenv("GLRF_BENCH_TRACE")
	if dir == "" {
		return debug.LoggingOptions{}, false
	}
	require.NoError(b, os.MkdirAll(dir, 0o755))
	file, err := filepath.Abs(filepath.Join(dir, fmt.Sprintf("%s-%s-%d.trace", s.name, op, n)))
	require.NoError(b, err)
	return debug.LoggingOptions{Tracing: "file:" + file}, true
}

func benchPreviewOpts(b *testing.B, s *testStack, op string, n int) []optpreview.Option {
	opts := []optpreview.Option{optpreview.ProgressStreams(&s.log)}
	if trace, ok := benchTrace(b, s, op, n); ok {
		opts = append(opts, optpreview.DebugLogging(trace))
	}
	return opts
}

func benchUp(b *testing.B, s *testStack, op string, n int) auto.UpResult {
	opts := []optup.Option{optup.ProgressStreams(&s.log)}
	if trace, ok := benchTrace(b, s, op, n); ok {
		opts = append(opts, optup.DebugLogging(trace))
	}
	res, err := s.stack.Up(context.Background(), opts...)
	require.NoError(b, err, "%s: %s", op, tail(s.log.String(), 40))
	return res
}

// renderedFleet is one fleet as the program renders it.
type renderedFleet struct {
	name string // the fleet's name, to be replaced in every copy
	// objects are the fleet's Kubernetes objects as YAML documents, as the
	// Kubernetes provider renders them (renderYamlToDirectory).
	objects []string
	// runner are the UserRunner's inputs as the engine recorded them.
	runner map[string]any
	// gitlabVersion is the gitlab plugin version the program asked for.
	gitlabVersion string
}

// The floor's two resource types, registered by token (see newFloorStack).
const (
	userRunnerType = "gitlab:index/userRunner:UserRunner"
	configFileType = "kubernetes:yaml/v2:ConfigFile"
)

// renderFleet deploys one benchFleet with the Kubernetes provider rendering
// YAML instead of applying it: whatever objects the fleet has today are the
// floor's, and its runner's recorded inputs are the floor runners'.
func renderFleet(b *testing.B) renderedFleet {
	const name = "floortemplate"
	dir := b.TempDir()
	s := newStack(b, "bench-render-floor", benchFleet(name, 1))
	s.setConfig(b, "kubernetes:context", nil) // not allowed with rendering
	s.setConfig(b, "kubernetes:renderYamlToDirectory", dir)
	s.up(b)

	f := renderedFleet{name: name}

	patches := map[string]bool{} // "kind namespace/name" of objects the program patches
	for _, r := range deployment(b, s).Resources {
		switch {
		case strings.HasPrefix(string(r.Type), "kubernetes:") && strings.HasSuffix(string(r.Type), "Patch"):
			kind, _ := r.Inputs["kind"].(string)
			meta, _ := r.Inputs["metadata"].(map[string]any)
			namespace, _ := meta["namespace"].(string)
			name, _ := meta["name"].(string)
			patches[kind+" "+namespace+"/"+name] = true
		case string(r.Type) == userRunnerType:
			f.runner = map[string]any{}
			for k, v := range r.Inputs {
				if !strings.HasPrefix(k, "__") { // the engine's own bookkeeping
					f.runner[k] = v
				}
			}
		case string(r.Type) == "pulumi:providers:gitlab":
			f.gitlabVersion, _ = r.Inputs["version"].(string)
		}
	}
	require.NotNil(b, f.runner, "the rendered stack has no %s", userRunnerType)

	files, err := filepath.Glob(filepath.Join(dir, "*", "*.yaml"))
	require.NoError(b, err)
	sort.Strings(files)
	patched := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(b, err)
		var object struct {
			Kind     string `yaml:"kind"`
			Metadata struct {
				Name      string `yaml:"name"`
				Namespace string `yaml:"namespace"`
			} `yaml:"metadata"`
		}
		require.NoError(b, yaml.Unmarshal(data, &object), file)
		if patches[object.Kind+" "+object.Metadata.Namespace+"/"+object.Metadata.Name] {
			// The program patches an object the cluster owns (a namespace's
			// default ServiceAccount): the floor applies the same fields, and
			// does not wait on delete for an object the cluster recreates.
			data = skipAwait(b, data)
			patched++
		}
		f.objects = append(f.objects, string(data))
	}
	require.NotEmpty(b, f.objects, "nothing rendered in %s", dir)
	require.Equal(b, len(patches), patched, "every patched object rendered: %v", patches)
	require.NotEmpty(b, f.gitlabVersion, "the gitlab provider's version")
	return f
}

// skipAwait adds pulumi.com/skipAwait to a rendered object.
func skipAwait(b *testing.B, data []byte) []byte {
	var object map[string]any
	require.NoError(b, yaml.Unmarshal(data, &object))
	meta, _ := object["metadata"].(map[string]any)
	annotations, _ := meta["annotations"].(map[string]any)
	if annotations == nil {
		annotations = map[string]any{}
	}
	annotations["pulumi.com/skipAwait"] = "true"
	meta["annotations"] = annotations
	out, err := yaml.Marshal(object)
	require.NoError(b, err)
	return out
}

// kinds are the kinds of the fleet's objects, for the log.
func (f renderedFleet) kinds() []string {
	var kinds []string
	for _, o := range f.objects {
		for _, line := range strings.Split(o, "\n") {
			if kind, ok := strings.CutPrefix(line, "kind: "); ok {
				kinds = append(kinds, kind)
			}
		}
	}
	return kinds
}

// copyAs is the fleet's objects as one YAML stream, and its runner's inputs,
// for a fleet named name.
func (f renderedFleet) copyAs(name string) (string, map[string]any) {
	objects := strings.ReplaceAll(strings.Join(f.objects, "\n---\n"), f.name, name)
	var runner map[string]any
	data, _ := json.Marshal(f.runner)
	_ = json.Unmarshal([]byte(strings.ReplaceAll(string(data), f.name, name)), &runner)
	return objects, runner
}

// newFloorStack is a stack of n copies of the rendered fleet, named
// prefix-0... : for each, its UserRunner and a ConfigFile of its Kubernetes
// objects that waits for it.
func newFloorStack(b *testing.B, stackName string, f renderedFleet, prefix string, n int) *testStack {
	s := newStack(b, stackName) // same project, settings, backend and CLI; no fleets
	dir := b.TempDir()
	type copied struct {
		name, file string
		runner     map[string]any
	}
	copies := make([]copied, n)
	for j := range copies {
		name := fmt.Sprintf("%s-%d", prefix, j)
		objects, runner := f.copyAs(name)
		runner["groupId"] = 2 + j%900
		file := filepath.Join(dir, name+".yaml")
		require.NoError(b, os.WriteFile(file, []byte(objects), 0o600))
		copies[j] = copied{name: name, file: file, runner: runner}
	}
	s.stack.Workspace().SetProgram(func(ctx *pulumi.Context) error {
		for _, c := range copies {
			var runner pulumi.CustomResourceState
			if err := ctx.RegisterResource(userRunnerType, c.name, pulumi.ToMap(c.runner), &runner,
				pulumi.Version(f.gitlabVersion)); err != nil {
				return err
			}
			// Registered by its type token, as yamlv2.NewConfigFile does, with
			// the SDK's default version: importing yaml/v2 would compile its 54
			// API-group packages into every e2e build for this one call.
			var file pulumi.ResourceState
			if err := ctx.RegisterRemoteComponentResource(configFileType, c.name,
				pulumi.Map{"file": pulumi.String(c.file)}, &file,
				utilities.PkgResourceDefaultOpts([]pulumi.ResourceOption{pulumi.DependsOn([]pulumi.Resource{&runner})})...); err != nil {
				return err
			}
		}
		return nil
	})
	return s
}

package runnerlab_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/glrf/gitlab-runner-fleet/components/runnerconfig"
)

// apiCall is one Kubernetes API call of the runner's Kubernetes executor,
// as its source annotates it (// kubeAPI: <resource>, <verbs>,
// <conditions>; the runner generates its permissions documentation from
// these, and its own analyzer fails on a call without one).
type apiCall struct {
	group, resource string
	verbs           []string
	// conditions are alternatives: the call happens when any holds (none:
	// always).
	conditions []string
	at         string
}

// runnerAPICalls reads every annotated call from the runner module's
// executors/kubernetes (the source the lab builds).
func runnerAPICalls(t *testing.T) []apiCall {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "gitlab.com/gitlab-org/gitlab-runner").Output()
	require.NoError(t, err)
	root := filepath.Join(strings.TrimSpace(string(out)), "executors", "kubernetes")
	var calls []apiCall
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || filepath.Base(path) == "mocks.go" {
			return err
		}
		file, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		for _, group := range file.Comments {
			for _, c := range group.List {
				_, text, found := strings.Cut(c.Text, "kubeAPI:")
				if !found || !strings.HasPrefix(strings.TrimSpace(strings.TrimPrefix(c.Text, "//")), "kubeAPI:") {
					continue
				}
				parts := strings.Split(text, ",")
				resource := strings.TrimSpace(parts[0])
				if resource == "ignore" {
					continue
				}
				call := apiCall{resource: resource, at: fset.Position(c.Pos()).String()}
				if g, r, ok := strings.Cut(resource, "/"); ok && (g == "policy" || g == "apps" || strings.Contains(g, ".")) {
					call.group, call.resource = g, r
				}
				for _, p := range parts[1:] {
					p = strings.TrimSpace(p)
					if strings.ContainsAny(p, "=.") || strings.HasPrefix(p, "FF_") {
						call.conditions = append(call.conditions, p)
					} else {
						call.verbs = append(call.verbs, p)
					}
				}
				calls = append(calls, call)
			}
		}
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, calls)
	return calls
}

// possible reports whether a job of the [[runners]] entry r can make call:
// a feature flag the entry sets is as set, one it leaves unset is the job's
// choice; informers says whether the Role lets the runner watch pods (it
// asks, and does without them otherwise).
func possible(t *testing.T, call apiCall, r runnerconfig.RunnerConfig, informers bool) bool {
	if len(call.conditions) == 0 {
		return true
	}
	for _, c := range call.conditions {
		name, value, _ := strings.Cut(c, "=")
		switch {
		case strings.HasPrefix(name, "FF_"):
			set, ok := r.FeatureFlags[name]
			if !ok || (set == (value == "true")) {
				return true
			}
		case name == "print_pod_warning_events":
			if p := r.Kubernetes.PrintPodWarningEvents; p == nil || *p {
				return true
			}
		case name == "pod_disruption_budget":
			if r.Kubernetes.PodDisruptionBudget {
				return true
			}
		case name == "using Informers":
			if informers {
				return true
			}
		case name == "kubernetes.NamespacePerJob", name == "kubernetes.autoscaler":
			// Fleet-owned keys the fleet never renders (namespace_per_job,
			// [runners.kubernetes.autoscaler]).
		default:
			t.Errorf("%s: condition %q is new to this test; say when it holds", call.at, c)
		}
	}
	return false
}

// The Role a fleet grants is exactly what the runner can ask of the API
// server with the fleet's configuration: every call a job of the fleet can
// lead to (the flags the entry sets as set, those it leaves unset either
// way) is granted, and nothing else is.
func TestTheRoleGrantsEveryCallTheRunnerCanMake(t *testing.T) {
	calls := runnerAPICalls(t)
	for name, s := range everyFleet(t) {
		t.Run(name, func(t *testing.T) {
			r, err := runnerconfig.FinalEntry(s)
			require.NoError(t, err)
			informers := s.Executor.UseInformers == nil || *s.Executor.UseInformers
			rules, err := runnerconfig.FleetRoleRules(s)
			require.NoError(t, err)
			granted := map[string]bool{}
			for _, rule := range rules {
				for _, res := range rule.Resources {
					for _, v := range rule.Verbs {
						granted[rule.APIGroup+"/"+res+" "+v] = true
					}
				}
			}
			needed := map[string]bool{}
			for _, call := range calls {
				if !possible(t, call, r, informers) {
					continue
				}
				for _, v := range call.verbs {
					key := call.group + "/" + call.resource + " " + v
					needed[key] = true
					assert.True(t, granted[key], "%s: the runner can call %s (%v), the Role does not grant it", call.at, key, call.conditions)
				}
			}
			for key := range granted {
				assert.True(t, needed[key], "the Role grants %s, which no call of the runner needs with this configuration", key)
			}
			assert.False(t, slices.ContainsFunc(rules, func(r runnerconfig.PolicyRule) bool {
				return slices.Contains(r.Verbs, "*") || slices.Contains(r.Resources, "*")
			}), "no wildcard")
		})
	}
}

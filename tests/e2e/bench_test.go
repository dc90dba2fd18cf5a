//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/stretchr/testify/require"
)

// Benchmarks of the real engine on the local control plane (`make bench`;
// never part of the tests). Every figure is measured in the same run, and
// ratios compare the engine with kubectl on the same objects.

func timed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

// BenchmarkEngineVersusKubectl times, for one fleet: pulumi up (create),
// a no-op up, a preview and destroy; beside kubectl apply (alone, and with
// waiting for the rollout as up does) and kubectl delete of the same objects,
// rendered by the Kubernetes provider's renderYamlToDirectory.
func BenchmarkEngineVersusKubectl(b *testing.B) {
	ctx := context.Background()
	var up, noop, preview, destroy, apply, applyReady, del time.Duration
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("bench-%d", i)
		s := newStack(b, "bench-engine", groupFleet(name, 900+i))
		up += timed(func() { s.up(b) })
		noop += timed(func() { s.up(b) })
		preview += timed(func() { s.preview(b) })
		destroy += timed(func() {
			_, err := s.stack.Destroy(ctx, optdestroy.ProgressStreams(&s.log))
			require.NoError(b, err)
		})

		// The same objects as YAML: the provider renders instead of applying.
		rendered := b.TempDir()
		kname := fmt.Sprintf("kbench-%d", i)
		k := newStack(b, "bench-render", groupFleet(kname, 950+i))
		k.setConfig(b, "kubernetes:context", nil) // not allowed with rendering
		k.setConfig(b, "kubernetes:renderYamlToDirectory", rendered)
		k.up(b)
		kubectl := func(args ...string) {
			out, err := exec.Command("kubectl", append([]string{"--kubeconfig", h.kubeconfig}, args...)...).CombinedOutput()
			require.NoError(b, err, string(out))
		}
		manifests := rendered + "/1-manifest"
		namespaces, err := filepath.Glob(manifests + "/v1-namespace-*.yaml")
		require.NoError(b, err)
		require.Len(b, namespaces, 2)
		applied := timed(func() {
			// Namespaces first, as the engine orders them; then everything.
			kubectl(append([]string{"apply"}, flagged("-f", namespaces)...)...)
			kubectl("apply", "-R", "-f", manifests)
		})
		apply += applied
		// up waits for the StatefulSet to be Ready; so does this figure.
		applyReady += applied + timed(func() {
			kubectl("rollout", "status", "statefulset/"+kname, "-n", "gitlab-runner-"+kname, rolloutTimeout)
		})
		del += timed(func() { kubectl("delete", "-R", "-f", manifests, "--wait=true", "--ignore-not-found") })
	}
	n := float64(b.N)
	report := func(d time.Duration, unit string) { b.ReportMetric(d.Seconds()/n, unit) }
	report(up, "s/up-create")
	report(noop, "s/up-noop")
	report(preview, "s/preview")
	report(destroy, "s/destroy")
	report(apply, "s/kubectl-apply")
	report(applyReady, "s/kubectl-apply+rollout")
	report(del, "s/kubectl-delete")
	b.ReportMetric(float64(up)/float64(applyReady), "up/apply+rollout")
	b.ReportMetric(float64(up)/float64(apply), "up/apply")
	b.ReportMetric(float64(noop)/float64(apply), "noop-up/apply")
	b.ReportMetric(float64(preview)/float64(apply), "preview/apply")
	b.ReportMetric(float64(destroy)/float64(del), "destroy/delete")
}

func flagged(flag string, values []string) []string {
	var out []string
	for _, v := range values {
		out = append(out, flag, v)
	}
	return out
}

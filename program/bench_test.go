package program_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/glrf/gitlab-runner-fleet/program"
	"github.com/glrf/gitlab-runner-fleet/tests/mocks"
)

// BenchmarkProgram measures evaluating the program under mocks for 1, 10 and
// 50 fleets in one run and reports the cost per fleet count and the ratios to
// one fleet (run with `make bench`; tests never assert on timings).
func BenchmarkProgram(b *testing.B) {
	counts := []int{1, 10, 50}
	perRun := map[int]time.Duration{}
	for _, n := range counts {
		fleets := make([]map[string]any, n)
		for i := range fleets {
			fleets[i] = map[string]any{
				"name":   fmt.Sprintf("fleet-%d", i),
				"runner": map[string]any{"type": "group_type", "groupId": i + 1, "tags": []string{"t"}},
			}
		}
		encoded, _ := json.Marshal(fleets)
		config := baseConfig(string(encoded))
		start := time.Now()
		for i := 0; i < b.N; i++ {
			if _, err := mocks.Run(program.Run, config, nil); err != nil {
				b.Fatal(err)
			}
		}
		perRun[n] = time.Since(start) / time.Duration(b.N)
	}
	for _, n := range counts {
		b.ReportMetric(float64(perRun[n].Microseconds())/1000, fmt.Sprintf("ms/%d-fleets", n))
	}
	b.ReportMetric(float64(perRun[10])/float64(perRun[1]), "x10/x1")
	b.ReportMetric(float64(perRun[50])/float64(perRun[1]), "x50/x1")
}

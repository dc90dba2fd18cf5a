package runnerlab_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/glrf/gitlab-runner-fleet/components/plan"
	"github.com/glrf/gitlab-runner-fleet/components/settings"
)

// stackFleet is one fleet of a committed stack file, decoded, defaulted and
// checked as the program does it.
type stackFleet struct {
	Stack    string
	Settings settings.FleetSettings
}

func (f stackFleet) String() string { return f.Stack + "/" + f.Settings.Name }

// committedFleets are the fleets of every Pulumi.<stack>.yaml at the
// repository's root.
func committedFleets(t *testing.T) []stackFleet {
	t.Helper()
	files, err := filepath.Glob("../../Pulumi.*.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 2, "the dev stack and the example production stack")
	var out []stackFleet
	for _, file := range files {
		stack := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(file), "Pulumi."), ".yaml")
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		var doc struct {
			Config map[string]any `yaml:"config"`
		}
		require.NoError(t, yaml.Unmarshal(data, &doc))
		raw, err := json.Marshal(doc.Config["gitlab-runner-fleet:fleets"])
		require.NoError(t, err)
		plans, problems := plan.Fleets(string(raw), stack)
		require.NoError(t, problems.Err(), file)
		for _, p := range plans {
			out = append(out, stackFleet{Stack: stack, Settings: p.Settings})
		}
	}
	return out
}

package modversions

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFindSharedModuleAtTwoVersions(t *testing.T) {
	lists := map[string]BuildList{
		".":     {"google.golang.org/grpc": "v1.83.2", "golang.org/x/sys": "v0.49.0"},
		"tools": {"google.golang.org/grpc": "v1.85.0", "golang.org/x/sys": "v0.49.0"},
	}
	got := Find(lists, map[string]Side{".": ControlPlane, "tools": ControlPlane})
	require.Len(t, got, 1)
	assert.Equal(t, "google.golang.org/grpc", got[0].Path)
	assert.Equal(t, map[string][]string{"v1.83.2": {"."}, "v1.85.0": {"tools"}}, got[0].Versions)
	assert.Equal(t, "v1.85.0", got[0].Highest())
	assert.Equal(t, "google.golang.org/grpc must have one version everywhere, has v1.83.2 in .; v1.85.0 in tools", got[0].String())
}

func TestFindKubernetesFamilyPerSide(t *testing.T) {
	sides := map[string]Side{".": ControlPlane, "tools/build/kube": ControlPlane, "tools/build/kwok": Runner}
	lists := map[string]BuildList{
		".":                {"k8s.io/client-go": "v0.34.4", "github.com/google/cel-go": "v0.26.0"},
		"tools/build/kube": {"k8s.io/client-go": "v0.34.4", "github.com/google/cel-go": "v0.30.0"},
		"tools/build/kwok": {"k8s.io/client-go": "v0.36.3", "github.com/google/cel-go": "v0.30.0"},
	}
	got := Find(lists, sides)
	// client-go differs only across sides: fine. cel-go differs within the
	// control plane's side.
	require.Len(t, got, 1)
	assert.Equal(t, "github.com/google/cel-go", got[0].Path)
	assert.Equal(t, ControlPlane, got[0].Side)
	assert.Equal(t, map[string][]string{"v0.26.0": {"."}, "v0.30.0": {"tools/build/kube"}}, got[0].Versions)
}

func TestFindSkipsExemptDependencies(t *testing.T) {
	sides := map[string]Side{"tools/build/pulumi": ControlPlane, "tools/build/kubernetes-provider": ControlPlane}
	lists := map[string]BuildList{
		"tools/build/pulumi":              {"github.com/pulumi/pulumi/sdk/v3": "v3.274.1", "google.golang.org/grpc": "v1.85.0"},
		"tools/build/kubernetes-provider": {"github.com/pulumi/pulumi/sdk/v3": "v3.215.0", "google.golang.org/grpc": "v1.72.1"},
	}
	got := Find(lists, sides)
	// The provider keeps its Pulumi SDK; gRPC it must share.
	require.Len(t, got, 1)
	assert.Equal(t, "google.golang.org/grpc", got[0].Path)
}

func TestHighestOrdersPseudoVersionsBeforeTheirRelease(t *testing.T) {
	m := Mismatch{Versions: map[string][]string{
		"v1.0.4":                               {"a"},
		"v1.0.4-0.20230313162750-1ae8d489ac81": {"b"},
		"v1.0.3":                               {"c"},
	}}
	assert.Equal(t, "v1.0.4", m.Highest())
}

// The guard itself: every module folder of the repository (stand-ins aside)
// selects one version of each dependency it shares with another.
func TestModulesShareVersions(t *testing.T) {
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	lists, err := LoadAll(root)
	require.NoError(t, err)
	mismatches := Find(lists, Modules)
	for _, m := range mismatches {
		t.Error(m)
	}
	if len(mismatches) > 0 {
		t.Log("a cold build compiles every package once per version set; align them with: cd tools && go run ./cmd/modversions -fix")
	}
}

// A module added to the repository and not to Modules would quietly compile
// its own versions.
func TestModulesListsEveryGoMod(t *testing.T) {
	out, err := exec.Command("git", "-C", "../..", "ls-files", "*go.mod").Output()
	require.NoError(t, err, "git ls-files")
	var dirs []string
	for _, f := range strings.Fields(string(out)) {
		if strings.Contains(f, "/standins/") {
			continue // compile-only stand-ins, replaced by folder
		}
		dirs = append(dirs, filepath.Dir(f))
	}
	slices.Sort(dirs)
	var listed []string
	for dir := range Modules {
		listed = append(listed, dir)
	}
	slices.Sort(listed)
	assert.Equal(t, listed, dirs, "modversions.Modules must name every go.mod folder with its side")
}

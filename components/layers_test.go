// Package components_test holds the test that keeps the layers of
// components/ in order: each package imports only the layers below it, and
// the layers below the Pulumi component import no Pulumi package.
package components_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/glrf/gitlab-runner-fleet/"

// layers lists, bottom up, each package of components/, the project
// packages it may depend on (directly or not), and whether it may depend on
// Pulumi.
var layers = []struct {
	pkg    string
	may    []string
	pulumi bool
}{
	{"components/runnerversion", nil, false},
	{"components/entrypoint", nil, false},
	{"components/settings", []string{"components/runnerversion"}, false},
	{"components/settings/reference", []string{"components/runnerversion", "components/settings"}, false},
	{"components/runnerconfig", []string{"components/runnerversion", "components/settings"}, false},
	{"components/plan", []string{"components/runnerversion", "components/settings", "components/runnerconfig"}, false},
	{"components/fleet", []string{"components/runnerversion", "components/settings", "components/runnerconfig", "components/plan", "components/entrypoint"}, true},
}

// deps are the packages pkg depends on, directly or not (go list -deps,
// test files left out).
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", module+pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
	}
	return strings.Fields(string(out))
}

func TestEachLayerImportsOnlyTheLayersBelowIt(t *testing.T) {
	for _, layer := range layers {
		t.Run(layer.pkg, func(t *testing.T) {
			list := deps(t, layer.pkg)
			if !slices.Contains(list, module+layer.pkg) {
				t.Fatalf("go list did not list %s itself: %v", layer.pkg, list)
			}
			for _, dep := range list {
				own, ok := strings.CutPrefix(dep, module)
				if ok && own != layer.pkg && !slices.Contains(layer.may, own) {
					t.Errorf("%s depends on %s, which is not below it", layer.pkg, own)
				}
				if !layer.pulumi && strings.HasPrefix(dep, "github.com/pulumi/") {
					t.Errorf("%s depends on %s: only the component (components/fleet) and the program may use Pulumi", layer.pkg, dep)
				}
			}
		})
	}
}

// The fleet really is built on the layers below it (so the test above
// checks what it claims to).
func TestTheComponentUsesEveryLayerBelowIt(t *testing.T) {
	list := deps(t, "components/fleet")
	for _, below := range []string{"components/runnerversion", "components/settings", "components/runnerconfig", "components/entrypoint"} {
		if !slices.Contains(list, module+below) {
			t.Errorf("components/fleet does not depend on %s", below)
		}
	}
	if !slices.ContainsFunc(list, func(d string) bool { return strings.HasPrefix(d, "github.com/pulumi/") }) {
		t.Error("components/fleet does not depend on Pulumi")
	}
}

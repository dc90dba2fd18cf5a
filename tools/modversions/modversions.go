// Package modversions keeps the repository's Go modules on one version of
// every dependency they share, so that a fresh machine compiles each package
// once.
//
// Go's build cache reuses a compiled package only when the package and every
// package below it are the same: one differing version of golang.org/x/sys
// or of gRPC recompiles everything above it. The repository builds eleven
// modules on a cold machine (its own four, the runner lab, and the six tool
// builds: Pulumi CLI, YAML host, Kubernetes provider, control plane, kwok,
// GitLab Runner), and before they shared versions a cold `make test`
// compiled 10,438 packages, 2.1 times its 4,873 distinct import paths.
//
// Kubernetes' own modules cannot be shared by all: the control plane is
// built from Kubernetes v1.34 while GitLab Runner needs client-go v0.36. So
// the modules are on two sides, and the Kubernetes family (see
// [PerSide]) has one version per side; every other module has one version
// everywhere.
package modversions

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/mod/semver"
)

// Side names which Kubernetes version a module builds with.
type Side string

const (
	// ControlPlane: Kubernetes v1.34 (client-go v0.34), the version the local
	// control plane is built from.
	ControlPlane Side = "control-plane"
	// Runner: client-go v0.36, GitLab Runner's own requirement.
	Runner Side = "runner"
)

// Modules are the repository's module folders, relative to its root, and
// their sides. The runner lab imports both this repository's code and the
// runner's, so it is on the runner's side.
var Modules = map[string]Side{
	".":                               ControlPlane,
	"tools":                           ControlPlane,
	"provider":                        ControlPlane,
	"examples/go-component":           ControlPlane,
	"tools/build/kube":                ControlPlane,
	"tools/build/pulumi":              ControlPlane,
	"tools/build/pulumi-yaml":         ControlPlane,
	"tools/build/kubernetes-provider": ControlPlane,
	"tools/build/gitlab-runner":       Runner,
	"tools/runnerlab":                 Runner,
	"tools/build/kwok":                Runner,
}

// PerSide matches the Kubernetes family: Kubernetes' own modules and the
// libraries whose versions move in step with them (OpenAPI, CEL). These
// agree within a side only.
var PerSide = regexp.MustCompile(`^(k8s\.io/|sigs\.k8s\.io/|github\.com/google/gnostic-models$|github\.com/go-openapi/|github\.com/emicklei/go-restful/|github\.com/google/cel-go$|cel\.dev/)`)

// Exempt names, by module folder, the dependencies that folder keeps at its
// own version, each with the reason: a build that does not compile at the
// shared version.
var Exempt = map[string]*regexp.Regexp{
	// The Kubernetes provider (commit f47bc2d6) is built against Pulumi
	// v3.215.0: its pkg/gen does not compile against v3.274.1, whose
	// codegen/schema.ResourceSpec fields became pointers. With them goes
	// the clipboard module, which the Pulumi CLI's build replaces with
	// Pulumi's fork (as Pulumi's own go.mod does) and v3.215.0 does not.
	// Its other dependencies are shared.
	"tools/build/kubernetes-provider": regexp.MustCompile(`^(github\.com/pulumi/pulumi/(pkg|sdk)/v3|github\.com/atotto/clipboard)$`),
}

// BuildList is the version of every module a folder compiles packages from,
// by module path: the modules of `go list -deps -test -tags e2e,tools ./...`
// with cgo off (the tool builds name their main packages in a tools.go under
// the tools tag). Left out: the folder's own module and modules replaced by a
// local folder (this repository's, the stand-ins). Modules in the module
// graph that provide no package are left out too: their versions compile
// nothing, and `go mod tidy` drops any requirement that would raise them.
type BuildList map[string]string

// Mismatch is one dependency at more than one version.
type Mismatch struct {
	Path string
	// Side is empty for a module that must agree everywhere.
	Side Side
	// Versions holds each version's module folders.
	Versions map[string][]string
}

func (m Mismatch) String() string {
	var parts []string
	for _, v := range sortedVersions(m.Versions) {
		parts = append(parts, fmt.Sprintf("%s in %s", v, strings.Join(m.Versions[v], ", ")))
	}
	where := "everywhere"
	if m.Side != "" {
		where = "on the " + string(m.Side) + " side"
	}
	return fmt.Sprintf("%s must have one version %s, has %s", m.Path, where, strings.Join(parts, "; "))
}

// Highest is the version every folder should move to.
func (m Mismatch) Highest() string {
	vs := sortedVersions(m.Versions)
	return vs[len(vs)-1]
}

// Find compares build lists (by module folder) and returns every dependency
// that two folders select at different versions, [Exempt] aside, sorted by
// path.
func Find(lists map[string]BuildList, sides map[string]Side) []Mismatch {
	type key struct {
		path string
		side Side
	}
	seen := map[key]map[string][]string{}
	for _, dir := range slices.Sorted(maps.Keys(lists)) {
		for path, version := range lists[dir] {
			if re := Exempt[dir]; re != nil && re.MatchString(path) {
				continue
			}
			k := key{path: path}
			if PerSide.MatchString(path) {
				k.side = sides[dir]
			}
			if seen[k] == nil {
				seen[k] = map[string][]string{}
			}
			seen[k][version] = append(seen[k][version], dir)
		}
	}
	var out []Mismatch
	for k, versions := range seen {
		if len(versions) > 1 {
			out = append(out, Mismatch{Path: k.path, Side: k.side, Versions: versions})
		}
	}
	slices.SortFunc(out, func(a, b Mismatch) int {
		return strings.Compare(a.Path+" "+string(a.Side), b.Path+" "+string(b.Side))
	})
	return out
}

// Load lists the folder's BuildList.
func Load(dir string) (BuildList, error) {
	const format = `{{with .Module}}{{if not .Main}}{{.Path}} {{.Version}}{{with .Replace}} {{.Path}} {{.Version}}{{end}}{{end}}{{end}}` +
		`{{with .Error}}{{"\n"}}error: {{.Err}}{{end}}`
	cmd := exec.Command("go", "list", "-e", "-deps", "-test", "-tags", "e2e,tools", "-f", format, "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list in %s: %v\n%s", dir, err, stderr.Bytes())
	}
	list := BuildList{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case f[0] == "error:":
			// Tolerated: a tools.go importing main packages (which is
			// what it is for: their dependencies are listed all the
			// same), and the provider build's embedded files, which
			// toolchain.sh copies in before it builds. Nothing else.
			if !strings.Contains(line, "is a program, not an importable package") &&
				!strings.Contains(line, "pattern schema.json") && !strings.Contains(line, "pattern terraform-mapping.json") {
				return nil, fmt.Errorf("go list in %s: %s", dir, strings.TrimSpace(line))
			}
		case len(f) == 2:
			list[f[0]] = f[1]
		case len(f) == 4:
			list[f[0]] = f[3] // replaced by another version
		default:
			// replaced by a local folder
		}
	}
	return list, nil
}

// LoadAll loads every module of [Modules] under the repository root.
func LoadAll(root string) (map[string]BuildList, error) {
	lists := map[string]BuildList{}
	for _, dir := range slices.Sorted(maps.Keys(Modules)) {
		list, err := Load(filepath.Join(root, dir))
		if err != nil {
			return nil, err
		}
		lists[dir] = list
	}
	return lists, nil
}

func sortedVersions(versions map[string][]string) []string {
	return slices.SortedFunc(maps.Keys(versions), semver.Compare)
}

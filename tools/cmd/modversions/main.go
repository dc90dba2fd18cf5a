// Command modversions checks that the repository's Go modules (the root,
// tools, provider, the example, the runner lab and the six tool builds)
// select one version of every dependency they share, the Kubernetes family
// one version per side (see package modversions), and with -fix raises each
// module's lower versions to the highest with `go get`, then tidies, until
// they agree.
//
//	cd tools && go run ./cmd/modversions        # list mismatches, exit 1 if any
//	cd tools && go run ./cmd/modversions -fix   # align them
//
// Run -fix after changing a dependency in any module; the tools test
// TestModulesShareVersions fails until then. -fix only raises: a module that
// cannot take a higher version fails its build, and is then a case for
// modversions.Exempt (with the reason) or PerSide, not a lower version
// elsewhere.
package main

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/glrf/gitlab-runner-fleet/tools/modversions"
)

func main() {
	fix := flag.Bool("fix", false, "raise lower versions with go get, then go mod tidy, until every module agrees")
	flag.Parse()
	root, err := filepath.Abs("..")
	if err == nil && !exists(filepath.Join(root, "tools", "modversions")) {
		err = fmt.Errorf("run it from the tools folder (cd tools && go run ./cmd/modversions)")
	}
	if err == nil {
		err = run(root, *fix)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "modversions:", err)
		os.Exit(1)
	}
}

func run(root string, fix bool) error {
	// Raising one module can raise others (their requirements), so -fix
	// repeats until nothing differs; a few rounds suffice in practice.
	for round := 1; ; round++ {
		lists, err := modversions.LoadAll(root)
		if err != nil {
			return err
		}
		mismatches := modversions.Find(lists, modversions.Modules)
		if len(mismatches) == 0 {
			fmt.Printf("%d modules share every dependency's version\n", len(lists))
			return nil
		}
		if !fix {
			for _, m := range mismatches {
				fmt.Println(m)
			}
			return fmt.Errorf("%d dependencies differ; align them with: cd tools && go run ./cmd/modversions -fix", len(mismatches))
		}
		if round > 6 {
			return fmt.Errorf("still %d mismatches after %d rounds, first: %s", len(mismatches), round-1, mismatches[0])
		}
		for _, dir := range slices.Sorted(maps.Keys(lists)) {
			targets := raises(dir, lists[dir], mismatches)
			if len(targets) == 0 {
				continue
			}
			fmt.Printf("round %d: %s: raising %d modules\n", round, dir, len(targets))
			if err := raise(filepath.Join(root, dir), targets); err != nil {
				return fmt.Errorf("%s: %w", dir, err)
			}
		}
	}
}

// raises maps each dependency the folder has below the highest version
// (among folders it must agree with) to that version.
func raises(dir string, list modversions.BuildList, mismatches []modversions.Mismatch) map[string]string {
	out := map[string]string{}
	for _, m := range mismatches {
		have, ok := list[m.Path]
		if !ok || (m.Side != "" && m.Side != modversions.Modules[dir]) {
			continue
		}
		if want := m.Highest(); have != want {
			out[m.Path] = want
		}
	}
	return out
}

// conflict is go get's answer when a requested version is below what
// another requested module requires: the requirement wins.
var conflict = regexp.MustCompile(`requires (\S+)@(\S+), not \S+`)

func raise(dir string, targets map[string]string) error {
	for attempt := 0; ; attempt++ {
		var args []string
		for _, path := range slices.Sorted(maps.Keys(targets)) {
			args = append(args, path+"@"+targets[path])
		}
		out, err := goCmd(dir, append([]string{"get"}, args...)...)
		if err == nil {
			break
		}
		found := conflict.FindAllStringSubmatch(out, -1)
		if len(found) == 0 || attempt == 5 {
			return fmt.Errorf("go get: %v\n%s", err, out)
		}
		for _, f := range found {
			targets[f[1]] = f[2]
		}
	}
	// The runner build's go.mod cannot be tidied strictly: some of the
	// runner's test-only imports live in modules the proxy refuses.
	tidy := []string{"mod", "tidy"}
	if filepath.Base(dir) == "gitlab-runner" {
		tidy = append(tidy, "-e")
	}
	if out, err := goCmd(dir, tidy...); err != nil {
		return fmt.Errorf("go mod tidy: %v\n%s", err, out)
	}
	return nil
}

func goCmd(dir string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Command settingsref writes the settings reference and the stack file's
// JSON Schema (see package reference) into the repository:
// `go generate ./components/settings/reference`, or
// `go run ./cmd/settingsref` from the repository root.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/glrf/gitlab-runner-fleet/components/settings/reference"
)

func main() {
	root := flag.String("root", ".", "the repository root")
	flag.Parse()
	if err := run(*root); err != nil {
		fmt.Fprintln(os.Stderr, "settingsref:", err)
		os.Exit(1)
	}
}

func run(root string) error {
	m, err := reference.Build(filepath.Join(root, "components", "settings"), filepath.Join(root, "Pulumi.yaml"))
	if err != nil {
		return err
	}
	schema, err := m.Schema()
	if err != nil {
		return err
	}
	descriptions, err := m.DescriptionsJSON()
	if err != nil {
		return err
	}
	for path, data := range map[string][]byte{reference.MarkdownFile: m.Markdown(), reference.SchemaFile: schema, reference.DescriptionsFile: descriptions} {
		full := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

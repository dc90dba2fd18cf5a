package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The README is a quick start; the rest lives in docs/. Every relative link
// between them must reach an existing file and, with a fragment, a heading
// or anchor of it, so that moving a section cannot leave a dead link.
func TestDocsLinksResolve(t *testing.T) {
	files, err := filepath.Glob("../docs/*.md")
	require.NoError(t, err)
	files = append(files, "../README.md")
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, file := range files {
		text, err := os.ReadFile(file)
		require.NoError(t, err)
		for _, m := range link.FindAllStringSubmatch(string(text), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, fragment, _ := strings.Cut(target, "#")
			resolved := file
			if path != "" {
				resolved = filepath.Join(filepath.Dir(file), path)
			}
			info, err := os.Stat(resolved)
			if !assert.NoError(t, err, "%s links to %s, which does not exist", file, target) || fragment == "" || info.IsDir() {
				continue
			}
			data, err := os.ReadFile(resolved)
			require.NoError(t, err)
			assert.Contains(t, anchors(string(data)), fragment, "%s links to %s: no such heading or anchor in %s", file, target, resolved)
		}
	}
}

// The README stays a quick start (issue: settings found in a minute).
func TestReadmeIsAQuickStart(t *testing.T) {
	info, err := os.Stat("../README.md")
	require.NoError(t, err)
	assert.Less(t, info.Size(), int64(30_000), "README.md grew past 30 KB: move the detail into docs/ and link it")
}

// anchors are the fragments a Markdown file offers: its headings, as GitHub
// makes them into ids, and explicit <a id="..."> anchors.
func anchors(markdown string) []string {
	var out []string
	heading := regexp.MustCompile(`(?m)^#{1,6}\s+(.+?)\s*$`)
	drop := regexp.MustCompile(`[^\p{L}\p{N} _-]`)
	for _, m := range heading.FindAllStringSubmatch(markdown, -1) {
		slug := drop.ReplaceAllString(strings.ToLower(m[1]), "")
		out = append(out, strings.ReplaceAll(slug, " ", "-"))
	}
	for _, m := range regexp.MustCompile(`<a id="([^"]+)"`).FindAllStringSubmatch(markdown, -1) {
		out = append(out, m[1])
	}
	return out
}

package reference

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// docs are the doc comments of the settings package's struct types and
// their fields, as one-paragraph text.
type docs struct {
	types  map[string]string            // type name → doc
	fields map[string]map[string]string // type name → Go field name → doc
}

// readDocs parses the Go source in dir (tests left out) for doc comments.
func readDocs(dir string) (docs, error) {
	d := docs{types: map[string]string{}, fields: map[string]map[string]string{}}
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return d, err
	}
	if len(files) == 0 {
		return d, fmt.Errorf("no Go source in %s: pass the settings package's folder", dir)
	}
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		src, err := os.ReadFile(file)
		if err != nil {
			return d, err
		}
		f, err := parser.ParseFile(fset, file, src, parser.ParseComments)
		if err != nil {
			return d, err
		}
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.TYPE {
				continue
			}
			for _, spec := range gen.Specs {
				ts := spec.(*ast.TypeSpec)
				doc := ts.Doc
				if doc == nil && len(gen.Specs) == 1 {
					doc = gen.Doc
				}
				d.types[ts.Name.Name] = paragraph(doc.Text())
				if st, ok := ts.Type.(*ast.StructType); ok {
					d.fields[ts.Name.Name] = fieldDocs(st)
				}
			}
		}
	}
	return d, nil
}

// fieldDocs are a struct's field docs. Several fields often share one
// comment ("PodLabels and PodAnnotations are added to the manager pods"):
// a field without a comment of its own takes the nearest earlier one that
// names it.
func fieldDocs(st *ast.StructType) map[string]string {
	out := map[string]string{}
	var earlier []string // the comments so far, nearest last
	for _, field := range st.Fields.List {
		group := field.Doc
		if group == nil {
			group = field.Comment
		}
		own := paragraph(group.Text())
		for _, name := range field.Names {
			doc := own
			if doc == "" {
				word := regexp.MustCompile(`\b` + regexp.QuoteMeta(name.Name) + `\b`)
				for _, c := range slices.Backward(earlier) {
					if word.MatchString(c) {
						doc = c
						break
					}
				}
			}
			out[name.Name] = doc
		}
		if own != "" {
			earlier = append(earlier, own)
		}
	}
	return out
}

// paragraph joins a comment's lines into one line.
func paragraph(text string) string { return strings.Join(strings.Fields(text), " ") }

// kindArticle is what precedes a word that names a kind of object rather
// than a field ("an existing Secret", "the ConfigMap").
var kindArticle = regexp.MustCompile(`(?i)\b(a|an|the|existing|its|their)\s+$`)

// userText rewrites a field's doc for users: the Go names of the struct's
// fields become the keys they write in the stack file ("Replicas of the
// manager" reads "`replicas` of the manager"), except where a name follows
// an article and so names a kind of object ("an existing Secret").
func userText(doc string, jsonNames map[string]string) string {
	for goName, key := range jsonNames {
		word := regexp.MustCompile(`\b` + regexp.QuoteMeta(goName) + `\b`)
		var b strings.Builder
		last := 0
		for _, m := range word.FindAllStringIndex(doc, -1) {
			b.WriteString(doc[last:m[0]])
			if kindArticle.MatchString(doc[:m[0]]) {
				b.WriteString(goName)
			} else {
				b.WriteString("`" + key + "`")
			}
			last = m[1]
		}
		b.WriteString(doc[last:])
		doc = b.String()
	}
	return doc
}

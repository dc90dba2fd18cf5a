// Package settingsdocs reads the doc comments of the settings types (package
// settings) from their source, for the descriptions of the package's
// schema: "Type" for a type, "Type.Field" for a field.
package settingsdocs

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
)

// Read returns the doc comments of the exported types of the Go package
// in dir and of their fields, tests aside, as plain text on one line.
func Read(dir string) (map[string]string, error) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []*ast.File
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	pkg, err := doc.NewFromFiles(fset, files, "settings")
	if err != nil {
		return nil, err
	}
	docs := map[string]string{}
	for _, t := range pkg.Types {
		if text := oneLine(t.Doc); text != "" {
			docs[t.Name] = text
		}
		for _, spec := range t.Decl.Specs {
			ts, ok := spec.(*ast.TypeSpec)
			if !ok {
				continue
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				continue
			}
			for _, field := range st.Fields.List {
				text := oneLine(field.Doc.Text())
				for _, name := range field.Names {
					if text != "" {
						docs[ts.Name.Name+"."+name.Name] = text
					}
				}
			}
		}
	}
	return docs, nil
}

// oneLine joins a doc comment's lines.
func oneLine(text string) string {
	return strings.Join(strings.Fields(text), " ")
}

package gitlabrunner_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/modfile"
)

// succeedingCalls are the stand-in functions allowed to return normally,
// by module: the runner calls them for jobs and commands that use none of
// the refused features (see TestStandinCallsTheRunnerMakesForEveryJobSucceed).
var succeedingCalls = map[string][]string{
	stepRunnerModule: {"api.DefaultSocketPath", "expression.NewEvaluator"},
	moaModule:        {"value.Object"},
}

// TestEveryStandinFunctionIsCalled reads the stand-ins' source: every
// exported function and method must be in refusingCalls (and so proven to
// refuse) or in succeedingCalls, so a function added to a stand-in cannot go
// untested.
func TestEveryStandinFunctionIsCalled(t *testing.T) {
	declared := map[string][]string{} // module path -> pkg.Func / pkg.Type.Method
	err := filepath.WalkDir("standins", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		module := modulePathOf(t, filepath.Dir(path))
		if strings.HasPrefix(module, "gitlab-runner-fleet/") {
			return nil // the refusal helper itself
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		for _, decl := range file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || !fn.Name.IsExported() {
				continue
			}
			name := file.Name.Name + "." + fn.Name.Name
			if fn.Recv != nil {
				name = file.Name.Name + "." + receiverType(fn.Recv.List[0].Type) + "." + fn.Name.Name
			}
			declared[module] = append(declared[module], name)
		}
		return nil
	})
	require.NoError(t, err)

	tested := map[string][]string{}
	for key, c := range refusingCalls() {
		tested[c.module] = append(tested[c.module], callName(key))
	}
	for module, names := range succeedingCalls {
		tested[module] = append(tested[module], names...)
	}
	for module := range declared {
		slices.Sort(declared[module])
	}
	for module := range tested {
		slices.Sort(tested[module])
	}
	assert.Equal(t, declared, tested, "every exported stand-in function must be called by a test")
}

// modulePathOf is the module path of the nearest go.mod at or above dir.
func modulePathOf(t *testing.T, dir string) string {
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			return modfile.ModulePath(data)
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, parent, dir, "no go.mod above %s", dir)
		dir = parent
	}
}

func receiverType(expr ast.Expr) string {
	if star, ok := expr.(*ast.StarExpr); ok {
		expr = star.X
	}
	return expr.(*ast.Ident).Name
}

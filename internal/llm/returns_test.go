package llm_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFunctionsThatCanFailReturnErrorNotTheConcreteType guards against
// the typed-nil trap: a nil *llm.Error stored in an error is not nil, so a
// function that may succeed returns error, and the details are read with
// errors.As / llm.AsError where the error is classified. A constructor
// (one result, never nil) may return *llm.Error. The rule is checked on
// the source of the packages that carry errors to the client.
func TestFunctionsThatCanFailReturnErrorNotTheConcreteType(t *testing.T) {
	// Every package of the module: the trap bit outside relay and server
	// too (admin's audit actor once compared a nil *llm.Error as error).
	var files []string
	for _, root := range []string{"..", "../../cmd"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(files) < 100 {
		t.Fatalf("found only %d Go files under internal/ and cmd/", len(files))
	}
	for _, path := range files {
		for _, v := range concreteErrorReturns(t, path) {
			t.Error(v)
		}
	}
}

// The rule must catch what it is about; these are the shapes it refuses
// (and one it allows).
func TestTheConcreteErrorReturnRuleCatchesTheTrap(t *testing.T) {
	src := `package x
import "github.com/switchyard-gw/switchyard/internal/llm"
type d struct{ f func() (int, *llm.Error) }
func pair() (int, *llm.Error) { return 0, nil }
func maybe(ok bool) *llm.Error { if ok { return nil }; return llm.BadRequest("", "no") }
func ctor() *llm.Error { return llm.BadRequest("", "no") }
var lit = func() (b []byte, e *llm.Error) { return }
func outer() error {
	inner := func() (int, *llm.Error) { return 0, nil }
	_, e := inner()
	return e
}
`
	path := filepath.Join(t.TempDir(), "x.go")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	got := concreteErrorReturns(t, path)
	for _, want := range []string{"x.go:3", "x.go:4", "x.go:5", "x.go:7", "x.go:9"} {
		if !strings.Contains(strings.Join(got, "\n"), want+":") {
			t.Errorf("not caught at %s; got %q", want, got)
		}
	}
	if len(got) != 5 {
		t.Errorf("got %d findings, want 5 (the constructor is allowed): %q", len(got), got)
	}
}

// concreteErrorReturns lists the function types in path whose results
// include *llm.Error beside another result, and the single-result
// functions that return nil as one.
func concreteErrorReturns(t *testing.T, path string) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	var out []string
	seen := map[*ast.FuncType]bool{} // a declaration's or literal's type, checked with its body
	report := func(n ast.Node, why string) {
		out = append(out, fset.Position(n.Pos()).String()+": "+why)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		var ft *ast.FuncType
		var body *ast.BlockStmt
		switch n := n.(type) {
		case *ast.FuncDecl:
			ft, body = n.Type, n.Body
		case *ast.FuncLit:
			ft, body = n.Type, n.Body
		case *ast.FuncType:
			ft = n // a field or variable of function type
		default:
			return true
		}
		if seen[ft] {
			return true
		}
		seen[ft] = true
		if ft.Results == nil || !hasConcreteError(ft.Results) {
			return true
		}
		if ft.Results.NumFields() > 1 {
			report(n, "returns *llm.Error beside another result; return error")
		} else if body != nil && returnsNil(body) {
			report(n, "returns a nil *llm.Error; return error")
		}
		return true
	})
	return out
}

func hasConcreteError(fl *ast.FieldList) bool {
	for _, f := range fl.List {
		if star, ok := f.Type.(*ast.StarExpr); ok {
			if sel, ok := star.X.(*ast.SelectorExpr); ok && sel.Sel.Name == "Error" {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == "llm" {
					return true
				}
			}
		}
	}
	return false
}

// returnsNil reports a "return nil" in body, outside nested function literals.
func returnsNil(body *ast.BlockStmt) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.ReturnStmt:
			if len(n.Results) == 1 {
				if id, ok := n.Results[0].(*ast.Ident); ok && id.Name == "nil" {
					found = true
				}
			}
		}
		return !found
	})
	return found
}

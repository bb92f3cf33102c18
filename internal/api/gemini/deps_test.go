package gemini

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCodecImportsNoTransport keeps the codec pure (STYLE §1, §11): its
// own files import no network, database, file, randomness or logging
// packages. (llm itself still imports net/http for status constants.)
func TestCodecImportsNoTransport(t *testing.T) {
	forbidden := []string{"net", "net/http", "database/sql", "log", "log/slog", "os", "math/rand", "math/rand/v2", "crypto/rand"}
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range forbidden {
				if path == bad {
					t.Errorf("%s imports %s", f, path)
				}
			}
		}
	}
}

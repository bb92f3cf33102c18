package bedrock

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCodecIsPure keeps the codec pure: its own files import no network,
// file, clock, randomness or logging packages; the caller does the I/O.
func TestCodecIsPure(t *testing.T) {
	forbidden := map[string]bool{
		"net": true, "net/http": true, "os": true, "io": true, "time": true, "context": true, "database/sql": true,
		"math/rand": true, "math/rand/v2": true, "crypto/rand": true, "log": true, "log/slog": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatal("no files", err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if forbidden[path] || strings.HasPrefix(path, "github.com/aws/") {
				t.Errorf("%s imports %s", f, path)
			}
		}
	}
}

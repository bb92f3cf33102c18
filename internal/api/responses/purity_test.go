package responses

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestTranslationImportsNoIOClockOrRandomness keeps the codec pure: ids and
// time come from the caller, and bytes go in and out.
func TestTranslationImportsNoIOClockOrRandomness(t *testing.T) {
	forbidden := map[string]bool{
		"net": true, "net/http": true, "os": true, "io": true, "time": true,
		"math/rand": true, "math/rand/v2": true, "crypto/rand": true, "log": true, "log/slog": true, "context": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	// Both directions are covered: the client dialect and the upstream
	// codec (EncodeRequest, DecodeResponse, StreamDecoder, DecodeError).
	for _, want := range []string{"decode_request.go", "response.go", "stream_encode.go", "encode_request.go", "decode_response.go", "stream_decode.go"} {
		if !slices.Contains(files, want) {
			t.Errorf("%s is not scanned", want)
		}
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
			if forbidden[path] {
				t.Errorf("%s imports %s", f, path)
			}
		}
	}
}

package bedrock

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// runGolden runs convert over every testdata/<dir>/*<ext> input and
// compares the result with the .golden file beside it. A conversion error
// is part of the expected output.
func runGolden(t *testing.T, dir, ext string, convert func(in []byte) ([]byte, error)) {
	t.Helper()
	inputs, err := filepath.Glob(filepath.Join("testdata", dir, "*"+ext))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs in testdata/%s: %v", dir, err)
	}
	for _, in := range inputs {
		t.Run(strings.TrimSuffix(filepath.Base(in), ext), func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := convert(src)
			if err != nil {
				got = []byte("error: " + errorSummary(err))
			}
			got = append(bytes.TrimRight(got, "\n"), '\n')
			golden := strings.TrimSuffix(in, ext) + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

func errorSummary(err error) string {
	if e, ok := err.(*llm.Error); ok {
		return "status=" + strconv.Itoa(e.Status) + " param=" + e.Param + " message=" + e.Message
	}
	return err.Error()
}

func indent(b []byte) []byte {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return b
	}
	return out.Bytes()
}

// TestEncodeRequestGolden: canonical requests (testdata/encode_request,
// llm.Request as JSON) rendered as Converse bodies.
func TestEncodeRequestGolden(t *testing.T) {
	runGolden(t, "encode_request", ".json", func(in []byte) ([]byte, error) {
		var r llm.Request
		if err := json.Unmarshal(in, &r); err != nil {
			t.Fatalf("bad fixture: %v", err)
		}
		out, err := EncodeRequest(&r, 8192)
		if err != nil {
			return nil, err
		}
		return append([]byte(Path(r.Model, false)+"\n"), indent(out)...), nil
	})
}

// TestDecodeResponseGolden: Converse answers read as canonical responses.
func TestDecodeResponseGolden(t *testing.T) {
	runGolden(t, "decode_response", ".json", func(in []byte) ([]byte, error) {
		r, err := DecodeResponse(in)
		if err != nil {
			return nil, err
		}
		return json.MarshalIndent(r, "", "  ")
	})
}

// TestStreamGolden: ConverseStream events (one "name payload" a line) read
// as canonical events, then whether the answer was complete and done.
func TestStreamGolden(t *testing.T) {
	runGolden(t, "stream", ".txt", func(in []byte) ([]byte, error) {
		var d StreamDecoder
		var out bytes.Buffer
		for _, line := range strings.Split(strings.TrimRight(string(in), "\n"), "\n") {
			name, data, _ := strings.Cut(line, " ")
			evs, err := d.Event(name, []byte(data))
			if err != nil {
				out.WriteString(name + " → error: " + errorSummary(err) + "\n")
				break
			}
			for _, ev := range evs {
				b, _ := json.Marshal(ev)
				out.WriteString(name + " → " + string(b) + "\n")
			}
		}
		out.WriteString("complete=" + strconv.FormatBool(d.Complete()) + " done=" + strconv.FormatBool(d.Done()))
		return out.Bytes(), nil
	})
}

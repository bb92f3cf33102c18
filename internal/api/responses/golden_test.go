package responses

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/money"
)

var update = flag.Bool("update", false, "rewrite the expected outputs in testdata/")

// testCost prices every token at one micro-dollar, so usage.cost is easy
// to check by eye.
func testCost(u llm.Usage) money.Nanos {
	return money.Nanos((u.PromptTokens + u.CompletionTokens) * 1000)
}

// runGolden feeds every testdata/dir/*.ext file to convert and compares the
// result with the file's .golden sibling.
func runGolden(t *testing.T, dir, ext string, convert func(t *testing.T, in []byte) []byte) {
	t.Helper()
	inputs, err := filepath.Glob(filepath.Join("testdata", dir, "*."+ext))
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) == 0 {
		t.Fatalf("no inputs in testdata/%s", dir)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), "."+ext)
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := convert(t, src)
			golden := strings.TrimSuffix(in, "."+ext) + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (run go test -update to accept):\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}

func indent(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func indentRaw(t *testing.T, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, raw)
	}
	return append(buf.Bytes(), '\n')
}

func TestDecodeRequestGolden(t *testing.T) {
	runGolden(t, "decode_request", "json", func(t *testing.T, in []byte) []byte {
		r, x, err := DecodeRequest(in)
		if err != nil {
			e := llm.AsError(err)
			if e.Status != 400 {
				t.Errorf("status %d, want 400", e.Status)
			}
			return indent(t, map[string]any{"error": map[string]any{"status": e.Status, "param": e.Param, "message": e.Message}})
		}
		if strings.HasPrefix(t.Name(), "TestDecodeRequestGolden/error_") {
			t.Errorf("an error_ fixture decoded without error")
		}
		return indent(t, map[string]any{"request": r, "extra": x})
	})
}

func TestEncodeResponseGolden(t *testing.T) {
	runGolden(t, "encode_response", "json", func(t *testing.T, in []byte) []byte {
		var r llm.Response
		if err := json.Unmarshal(in, &r); err != nil {
			t.Fatal(err)
		}
		return indentRaw(t, EncodeResponse(&r, Options{Cost: testCost}))
	})
}

// newTestEncoder is the encoder the stream fixtures run through.
func newTestEncoder() *StreamEncoder {
	return &StreamEncoder{ID: "resp_gw1", Model: "gpt-gw", Options: Options{Created: 1700000000, Cost: testCost}}
}

func encodeStream(t *testing.T, in []byte) []byte {
	enc := newTestEncoder()
	var out []byte
	for _, line := range bytes.Split(bytes.TrimSpace(in), []byte("\n")) {
		var ev llm.StreamEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatal(err)
		}
		out = enc.Event(out, ev)
	}
	return enc.Close(out)
}

func TestStreamEncoderGolden(t *testing.T) {
	runGolden(t, "stream_encode", "jsonl", func(t *testing.T, in []byte) []byte {
		return encodeStream(t, in)
	})
}

package anthropic

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

var update = flag.Bool("update", false, "rewrite the expected outputs in testdata/")

// testJSONTool is the response_format tool name the fixtures use.
const testJSONTool = "json_response"

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

func errorGolden(t *testing.T, err error) []byte {
	e := llm.AsError(err)
	return indent(t, map[string]any{"error": map[string]any{"status": e.Status, "param": e.Param, "message": e.Message}})
}

func TestDecodeRequestGolden(t *testing.T) {
	runGolden(t, "decode_request", "json", func(t *testing.T, in []byte) []byte {
		r, err := DecodeRequest(in)
		if err != nil {
			return errorGolden(t, err)
		}
		return indent(t, r)
	})
}

func TestEncodeRequestGolden(t *testing.T) {
	runGolden(t, "encode_request", "json", func(t *testing.T, in []byte) []byte {
		var r llm.Request
		if err := json.Unmarshal(in, &r); err != nil {
			t.Fatal(err)
		}
		enc, err := EncodeRequest(&r, 4096)
		if err != nil {
			return errorGolden(t, err)
		}
		out := indentRaw(t, enc.Body)
		if enc.JSONTool != "" {
			out = append(out, "// JSONTool: "+enc.JSONTool+"\n"...)
		}
		return out
	})
}

func TestDecodeResponseGolden(t *testing.T) {
	runGolden(t, "decode_response", "json", func(t *testing.T, in []byte) []byte {
		r, err := DecodeResponse(in, testJSONTool)
		if err != nil {
			return errorGolden(t, err)
		}
		return indent(t, r)
	})
}

func TestEncodeResponseGolden(t *testing.T) {
	runGolden(t, "encode_response", "json", func(t *testing.T, in []byte) []byte {
		var r llm.Response
		if err := json.Unmarshal(in, &r); err != nil {
			t.Fatal(err)
		}
		return indentRaw(t, EncodeResponse(&r))
	})
}

// sseEvent is one event of a recorded stream.
type sseEvent struct {
	name string
	data []byte
}

// parseSSE splits a recorded stream into events. It is a test reader, not
// the gateway's: fixtures use one data line per event.
func parseSSE(t testing.TB, src []byte) []sseEvent {
	var out []sseEvent
	for _, chunk := range strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n\n") {
		var ev sseEvent
		for _, line := range strings.Split(chunk, "\n") {
			if v, ok := strings.CutPrefix(line, "event:"); ok {
				ev.name = strings.TrimSpace(v)
			} else if v, ok := strings.CutPrefix(line, "data:"); ok {
				ev.data = []byte(strings.TrimSpace(v))
			}
		}
		if ev.name != "" || ev.data != nil {
			out = append(out, ev)
		}
	}
	return out
}

func decodeStream(t testing.TB, src []byte) ([]llm.StreamEvent, error) {
	d := StreamDecoder{JSONTool: testJSONTool}
	var all []llm.StreamEvent
	for _, ev := range parseSSE(t, src) {
		got, err := d.Event(ev.name, ev.data)
		all = append(all, got...)
		if err != nil {
			return all, err
		}
	}
	return all, nil
}

func TestStreamDecoderGolden(t *testing.T) {
	runGolden(t, "stream", "sse", func(t *testing.T, in []byte) []byte {
		events, err := decodeStream(t, in)
		var out []byte
		for _, ev := range events {
			b, jerr := json.Marshal(ev)
			if jerr != nil {
				t.Fatal(jerr)
			}
			out = append(out, b...)
			out = append(out, '\n')
		}
		if err != nil {
			out = append(out, "// error: "+err.Error()+"\n"...)
		}
		return out
	})
}

func TestStreamEncoderGolden(t *testing.T) {
	runGolden(t, "stream_encode", "jsonl", func(t *testing.T, in []byte) []byte {
		var enc StreamEncoder
		var out []byte
		for _, line := range bytes.Split(bytes.TrimSpace(in), []byte("\n")) {
			var ev llm.StreamEvent
			if err := json.Unmarshal(line, &ev); err != nil {
				t.Fatal(err)
			}
			out = enc.Event(out, ev)
		}
		return enc.Close(out)
	})
}

// TestReencodeRequestGolden is the path of an Anthropic client's request
// that goes through the canonical form to an Anthropic upstream: what the
// client sent (thinking, cache_control) must reach the upstream.
func TestReencodeRequestGolden(t *testing.T) {
	runGolden(t, "reencode_request", "json", func(t *testing.T, in []byte) []byte {
		r, err := DecodeRequest(in)
		if err != nil {
			return errorGolden(t, err)
		}
		enc, err := EncodeRequest(r, 4096)
		if err != nil {
			return errorGolden(t, err)
		}
		return indentRaw(t, enc.Body)
	})
}

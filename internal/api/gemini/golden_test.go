package gemini

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
		name := strings.TrimSuffix(filepath.Base(in), ext)
		t.Run(name, func(t *testing.T) {
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
		return "status=" + itoa(e.Status) + " param=" + e.Param + " message=" + e.Message
	}
	return err.Error()
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func indent(b []byte) []byte {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return b
	}
	return out.Bytes()
}

func marshalIndent(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }

func TestEncodeRequestGolden(t *testing.T) {
	runGolden(t, "encode_request", ".json", func(in []byte) ([]byte, error) {
		var r llm.Request
		if err := json.Unmarshal(in, &r); err != nil {
			t.Fatalf("bad fixture: %v", err)
		}
		b, err := EncodeRequest(&r)
		return indent(b), err
	})
}

func TestDecodeRequestGolden(t *testing.T) {
	runGolden(t, "decode_request", ".json", func(in []byte) ([]byte, error) {
		r, err := DecodeRequest("gemini-2.5-flash", in)
		if err != nil {
			return nil, err
		}
		return marshalIndent(r)
	})
}

func TestDecodeResponseGolden(t *testing.T) {
	runGolden(t, "decode_response", ".json", func(in []byte) ([]byte, error) {
		r, err := DecodeResponse(in)
		if err != nil {
			return nil, err
		}
		return marshalIndent(r)
	})
}

func TestEncodeResponseGolden(t *testing.T) {
	runGolden(t, "encode_response", ".json", func(in []byte) ([]byte, error) {
		var r llm.Response
		if err := json.Unmarshal(in, &r); err != nil {
			t.Fatalf("bad fixture: %v", err)
		}
		return indent(EncodeResponse(&r)), nil
	})
}

// sseData splits a recorded SSE body into its data payloads. A trailing
// event without its blank line (a cut stream) is still returned.
func sseData(body []byte) [][]byte {
	var out [][]byte
	for _, line := range strings.Split(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n") {
		if d, ok := strings.CutPrefix(line, "data:"); ok {
			out = append(out, []byte(strings.TrimPrefix(d, " ")))
		}
	}
	return out
}

func TestStreamDecoderGolden(t *testing.T) {
	runGolden(t, "stream", ".sse", func(in []byte) ([]byte, error) {
		var d StreamDecoder
		var lines []string
		for _, data := range sseData(in) {
			evs, err := d.Event(data)
			if err != nil {
				lines = append(lines, "error: "+errorSummary(err))
				continue
			}
			for _, ev := range evs {
				b, _ := json.Marshal(ev)
				lines = append(lines, string(b))
			}
		}
		return []byte(strings.Join(lines, "\n")), nil
	})
}

func TestStreamEncoderGolden(t *testing.T) {
	runGolden(t, "encode_stream", ".json", func(in []byte) ([]byte, error) {
		var evs []llm.StreamEvent
		if err := json.Unmarshal(in, &evs); err != nil {
			t.Fatalf("bad fixture: %v", err)
		}
		var e StreamEncoder
		var out []byte
		for _, ev := range evs {
			out = e.Event(out, ev)
		}
		return e.Close(out), nil
	})
}

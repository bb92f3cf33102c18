package gemini

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

func addSeeds(f *testing.F, pattern string) {
	files, _ := filepath.Glob(filepath.Join("testdata", pattern))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	addSeeds(f, "decode_request/*.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeRequest("m", body)
		if err != nil {
			if _, ok := err.(*llm.Error); !ok {
				t.Fatalf("error %v is not an *llm.Error", err)
			}
			return
		}
		// Whatever decodes must encode again for a Gemini upstream.
		if _, err := EncodeRequest(r); err != nil {
			if _, ok := err.(*llm.Error); !ok {
				t.Fatalf("re-encode: %v", err)
			}
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	addSeeds(f, "decode_response/*.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeResponse(body)
		if err != nil {
			return
		}
		if !json.Valid(EncodeResponse(r)) {
			t.Fatal("EncodeResponse produced invalid JSON")
		}
	})
}

func FuzzStreamDecoder(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "stream", "*.sse"))
	for _, p := range files {
		b, _ := os.ReadFile(p)
		for _, d := range sseData(b) {
			f.Add(d)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var d StreamDecoder
		for range 2 { // twice: the second call sees a started decoder
			evs, err := d.Event(data)
			if err != nil {
				return
			}
			var e StreamEncoder
			var out []byte
			for _, ev := range evs {
				out = e.Event(out, ev)
			}
			e.Close(out)
		}
	})
}

func FuzzSchemaSubset(f *testing.F) {
	f.Add([]byte(`{"$schema":"x","type":"object","additionalProperties":false,"properties":{"a":{"type":["string","null"],"default":"x"}}}`))
	f.Add([]byte(`{"$ref":"#/$defs/N","$defs":{"N":{"type":"object","properties":{"next":{"$ref":"#/$defs/N"}}}}}`))
	f.Add([]byte(`{"anyOf":[{"const":1},{"type":"null"}],"oneOf":[{"allOf":[{}]}],"items":[{"type":"string"}]}`))
	f.Add([]byte(`{"type":"array","items":{"enum":[1,"a",null,{"x":1}],"examples":[1]},"patternProperties":{"a":{}}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := schemaSubset(in)
		if err != nil {
			return
		}
		var v any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("output is not JSON: %s", out)
		}
		checkSubset(t, v, "$")
	})
}

package anthropic

import (
	"os"
	"path/filepath"
	"testing"
)

func addFiles(f *testing.F, pattern string) {
	files, _ := filepath.Glob(pattern)
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
}

func FuzzDecodeRequest(f *testing.F) {
	addFiles(f, "testdata/decode_request/*.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeRequest(body)
		if err != nil {
			return
		}
		// Whatever decodes must encode.
		if _, err := EncodeRequest(r, 1024); err != nil {
			t.Fatalf("decoded request does not encode: %v", err)
		}
	})
}

func FuzzDecodeResponse(f *testing.F) {
	addFiles(f, "testdata/decode_response/*.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := DecodeResponse(body, testJSONTool)
		if err != nil {
			return
		}
		_ = EncodeResponse(r)
	})
}

func FuzzStreamDecoder(f *testing.F) {
	addFiles(f, "testdata/stream/*.sse")
	f.Fuzz(func(t *testing.T, stream []byte) {
		d := StreamDecoder{JSONTool: testJSONTool}
		var enc StreamEncoder
		var out []byte
		for _, ev := range parseSSE(t, stream) {
			events, err := d.Event(ev.name, ev.data)
			for _, e := range events {
				out = enc.Event(out, e)
			}
			if err != nil {
				break
			}
		}
		_ = enc.Close(out)
	})
}

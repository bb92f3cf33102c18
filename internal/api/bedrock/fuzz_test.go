package bedrock

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// FuzzDecode: any upstream bytes, as a whole answer, a stream event of any
// name or an error body, give a result or an error, never a panic; every
// tool-call index a stream hands out refers to a call it opened.
func FuzzDecode(f *testing.F) {
	for _, dir := range []string{"decode_response", "stream"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*"))
		for _, file := range files {
			if strings.HasSuffix(file, ".golden") {
				continue
			}
			b, _ := os.ReadFile(file)
			for _, line := range strings.Split(string(b), "\n") {
				name, data, _ := strings.Cut(line, " ")
				f.Add(name, []byte(data))
			}
			f.Add("", b)
		}
	}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		_, _ = DecodeResponse(data)
		if e := DecodeError(400, data); e == nil || e.Status == 0 {
			t.Fatal("DecodeError gave no error")
		}
		var d StreamDecoder
		opened := 0
		for range 3 {
			evs, err := d.Event(name, data)
			if err != nil {
				return
			}
			for _, ev := range evs {
				switch ev.Kind {
				case llm.EventToolCallStart:
					if ev.Index != opened {
						t.Fatalf("call index %d, want %d", ev.Index, opened)
					}
					opened++
				case llm.EventToolCallDelta:
					if ev.Index >= opened {
						t.Fatalf("delta for call %d of %d", ev.Index, opened)
					}
				case llm.EventUsage:
					if ev.Usage.PromptTokens < 0 || ev.Usage.TotalTokens > 4*maxTokenCount {
						b, _ := json.Marshal(ev.Usage)
						t.Fatalf("usage out of bounds: %s", b)
					}
				}
			}
		}
	})
}

package gemini

import (
	"encoding/json"
	"testing"
)

func TestGoldenCountTokensRequest(t *testing.T) {
	runGolden(t, "count_tokens", ".json", func(in []byte) ([]byte, error) {
		r, err := DecodeCountTokensRequest("gemini-2.5-flash", in)
		if err != nil {
			return nil, err
		}
		return marshalIndent(r)
	})
}

// The list renders each model as EncodeModel does, then the page token.
func TestGoldenModelList(t *testing.T) {
	runGolden(t, "models", ".json", func(in []byte) ([]byte, error) {
		var ms []ModelInfo
		if err := json.Unmarshal(in, &ms); err != nil {
			t.Fatalf("bad fixture: %v", err)
		}
		out := indent(EncodeModelList(ms, "2"))
		for _, m := range ms {
			out = append(out, '\n')
			out = append(out, indent(EncodeModel(m))...)
		}
		return out, nil
	})
}

func TestCountTokensResponse(t *testing.T) {
	if got := string(EncodeCountTokensResponse(42)); got != `{"totalTokens":42}` {
		t.Fatal(got)
	}
}

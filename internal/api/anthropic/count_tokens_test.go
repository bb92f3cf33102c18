package anthropic

import (
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

func TestCountTokensRequestLeavesOutGenerationFields(t *testing.T) {
	r := &llm.Request{
		Model: "claude-sonnet-4-5", MaxTokens: 100, Stream: true, Temperature: ptr(0.3), Stop: []string{"x"},
		System:   []llm.Part{{Type: llm.PartText, Text: "sys"}},
		Messages: []llm.Message{{Role: llm.RoleUser, Parts: []llm.Part{{Type: llm.PartText, Text: "Hi"}}}},
	}
	got, err := EncodeCountTokensRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"model":"claude-sonnet-4-5","system":"sys","messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestCountTokensResponseRoundTrips(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    int64
		wantErr bool
	}{
		{name: "documented shape", body: `{"input_tokens":2095}`, want: 2095},
		{name: "missing field", body: `{}`, wantErr: true},
		{name: "not JSON", body: `nope`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := DecodeCountTokensResponse([]byte(tt.body))
			if (err != nil) != tt.wantErr || n != tt.want {
				t.Errorf("got %d, %v", n, err)
			}
		})
	}
	if got := string(EncodeCountTokensResponse(42)); got != `{"input_tokens":42}` {
		t.Errorf("EncodeCountTokensResponse = %s", got)
	}
}

package anthropic

import "testing"

func TestModelListShape(t *testing.T) {
	ms := []ModelInfo{
		{ID: "claude-a", DisplayName: "claude-a", CreatedAt: "2026-01-02T03:04:05Z", MaxInputTokens: 200000, MaxTokens: 64000},
		{ID: "gpt-4o", DisplayName: "gpt-4o", CreatedAt: "2026-01-02T03:04:05Z"},
	}
	for _, c := range []struct {
		ms   []ModelInfo
		more bool
		want string
	}{
		{ms, true, `{"data":[{"type":"model","id":"claude-a","display_name":"claude-a","created_at":"2026-01-02T03:04:05Z","max_input_tokens":200000,"max_tokens":64000},` +
			`{"type":"model","id":"gpt-4o","display_name":"gpt-4o","created_at":"2026-01-02T03:04:05Z"}],"has_more":true,"first_id":"claude-a","last_id":"gpt-4o"}`},
		{nil, false, `{"data":[],"has_more":false,"first_id":null,"last_id":null}`},
	} {
		if got := string(EncodeModelList(c.ms, c.more)); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
	if got, want := string(EncodeModel(ms[1])), `{"type":"model","id":"gpt-4o","display_name":"gpt-4o","created_at":"2026-01-02T03:04:05Z"}`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

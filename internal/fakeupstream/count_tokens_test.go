package fakeupstream

import (
	"context"
	"encoding/json"
	"io"
	"testing"
)

func TestAnthropicCountTokens(t *testing.T) {
	s := New(Options{APIKey: "k"})
	defer s.Close()
	count := func(body string, header ...string) (int, []byte) {
		t.Helper()
		h := append([]string{"x-api-key", "k"}, header...)
		resp, err := post(t, context.Background(), client(t), s.URL+"/v1/messages/count_tokens", body, h...)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	// msgBody: "Be brief." (2) + 3 messages × 4 + "Hello there" (2) + "Hi you" (2) + "Say more" (2).
	st, b := count(msgBody, anthropicHeaders...)
	var out struct {
		InputTokens *int `json:"input_tokens"`
	}
	if st != 200 || json.Unmarshal(b, &out) != nil || out.InputTokens == nil || *out.InputTokens != 2+12+6 {
		t.Fatalf("count_tokens: %d %s", st, b)
	}
	if r := s.Last(); r.Path != "/v1/messages/count_tokens" {
		t.Fatalf("recorded path %q", r.Path)
	}
	// The same checks as /v1/messages: version header, then key.
	if st, b := count(msgBody); st != 400 || decodeAnthropicErr(t, b).Error.Type != "invalid_request_error" {
		t.Fatalf("without anthropic-version: %d %s", st, b)
	}
	resp, err := post(t, context.Background(), client(t), s.URL+"/v1/messages/count_tokens", msgBody, append([]string{"x-api-key", "wrong"}, anthropicHeaders...)...)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || decodeAnthropicErr(t, b).Error.Type != "authentication_error" {
		t.Fatalf("bad key: %d %s", resp.StatusCode, b)
	}
	// Faults apply as to any request.
	s.Enqueue(Behavior{Status: 529})
	if st, b := count(msgBody, anthropicHeaders...); st != 529 || decodeAnthropicErr(t, b).Error.Type != "overloaded_error" {
		t.Fatalf("fault: %d %s", st, b)
	}
}

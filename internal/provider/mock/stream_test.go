package mock

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

func streamRequest(streamOptions string) string {
	body := strings.Replace(storyRequest, `"n": 3`, `"stream": true`, 1)
	if streamOptions != "" {
		body = strings.Replace(body, `"stream": true`, `"stream": true, "stream_options": `+streamOptions, 1)
	}
	return body
}

func TestChatStreamFollowsOpenAIEventOrder(t *testing.T) {
	const answer = "This is the mock model answering: Tell me a story about a"
	wantUsage := completionUsage{PromptTokens: 22, CompletionTokens: 12, TotalTokens: 34}
	tests := []struct {
		name          string
		opts          Options
		streamOptions string
		wantNull      bool // "usage":null on the chunks without usage
		wantOnFinish  bool // usage on the finish chunk
		wantOwnChunk  bool // a usage-only chunk after the finish chunk
	}{
		{name: "usage not asked"},
		{name: "include_usage false", streamOptions: `{"include_usage": false}`},
		{name: "include_usage", streamOptions: `{"include_usage": true}`, wantNull: true, wantOwnChunk: true},
		{name: "usage in finish chunk though not asked", opts: Options{UsageInFinishChunk: true}, wantOnFinish: true},
		{name: "usage in finish chunk when asked", opts: Options{UsageInFinishChunk: true}, streamOptions: `{"include_usage": true}`, wantNull: true, wantOnFinish: true},
		{name: "omit usage though asked", opts: Options{OmitUsage: true}, streamOptions: `{"include_usage": true}`},
		{name: "omit usage wins over finish chunk", opts: Options{OmitUsage: true, UsageInFinishChunk: true}, streamOptions: `{"include_usage": true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, tt.opts, http.MethodPost, "/v1/chat/completions", streamRequest(tt.streamOptions))
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/event-stream" {
				t.Fatalf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
			}
			if !rec.Flushed {
				t.Error("stream was never flushed")
			}
			events := sseData(t, rec.Body.String())
			if events[len(events)-1] != "[DONE]" {
				t.Fatalf("last event = %q, want [DONE]", events[len(events)-1])
			}
			var chunks []chatChunk
			for _, e := range events[:len(events)-1] {
				chunks = append(chunks, decode[chatChunk](t, []byte(e)))
			}
			wantChunks := 1 + 12 + 1
			if tt.wantOwnChunk {
				wantChunks++
			}
			if len(chunks) != wantChunks {
				t.Fatalf("got %d chunks, want %d:\n%s", len(chunks), wantChunks, rec.Body)
			}
			id := chunks[0].ID
			for i, c := range chunks {
				if c.ID != id || c.Object != "chat.completion.chunk" || c.Created != fixedNow.Unix() || c.Model != "gpt-4o-mini" {
					t.Errorf("chunk %d header = %q %q %d %q", i, c.ID, c.Object, c.Created, c.Model)
				}
			}

			first := chunks[0].Choices[0]
			if first.Delta.Role != "assistant" || first.Delta.Content == nil || *first.Delta.Content != "" || first.FinishReason != nil {
				t.Errorf("first chunk = %s", events[0])
			}
			var text strings.Builder
			for i, c := range chunks[1:13] {
				d := c.Choices[0]
				if d.Delta.Role != "" || d.Delta.Content == nil || d.FinishReason != nil || countWords(*d.Delta.Content) != 1 {
					t.Errorf("word chunk %d = %s", i, events[i+1])
				}
				text.WriteString(*d.Delta.Content)
			}
			if text.String() != answer {
				t.Errorf("words concatenate to %q, want %q", text.String(), answer)
			}
			fin := chunks[13]
			if len(fin.Choices) != 1 || fin.Choices[0].FinishReason == nil || *fin.Choices[0].FinishReason != "stop" {
				t.Fatalf("finish chunk = %s", events[13])
			}
			if !strings.Contains(events[13], `"delta":{}`) {
				t.Errorf("finish chunk delta is not empty: %s", events[13])
			}

			for i, c := range chunks {
				hasUsage := (i == 13 && tt.wantOnFinish) || (i == 14 && tt.wantOwnChunk)
				switch {
				case hasUsage:
					var u completionUsage
					if err := json.Unmarshal(c.Usage, &u); err != nil || u != wantUsage {
						t.Errorf("chunk %d usage = %s, want %+v", i, c.Usage, wantUsage)
					}
				case tt.wantNull:
					if string(c.Usage) != "null" {
						t.Errorf(`chunk %d usage = %s, want "usage":null`, i, c.Usage)
					}
				default:
					if c.Usage != nil {
						t.Errorf("chunk %d usage = %s, want it absent", i, c.Usage)
					}
				}
			}
			if tt.wantOwnChunk {
				if last := chunks[14]; last.Choices == nil || len(last.Choices) != 0 || !strings.Contains(events[14], `"choices":[]`) {
					t.Errorf("usage chunk = %s, want choices []", events[14])
				}
			}
		})
	}
}

func TestChatStreamCutByMaxTokensFinishesWithLength(t *testing.T) {
	body := strings.Replace(streamRequest(""), `"stream": true`, `"stream": true, "max_tokens": 2`, 1)
	events := sseData(t, serve(t, Options{}, http.MethodPost, "/chat/completions", body).Body.String())
	// role, 2 words, finish, [DONE]
	if len(events) != 5 {
		t.Fatalf("got %d events: %q", len(events), events)
	}
	w1 := decode[chatChunk](t, []byte(events[1])).Choices[0].Delta.Content
	w2 := decode[chatChunk](t, []byte(events[2])).Choices[0].Delta.Content
	if *w1+*w2 != "This is" {
		t.Errorf("words = %q + %q", *w1, *w2)
	}
	if f := decode[chatChunk](t, []byte(events[3])).Choices[0].FinishReason; f == nil || *f != "length" {
		t.Errorf("finish chunk = %s", events[3])
	}
}

func TestChatStreamReplyPiecesReassembleExactly(t *testing.T) {
	reply := " leading space, two  spaces\nand a newline "
	events := sseData(t, serve(t, Options{Reply: reply}, http.MethodPost, "/chat/completions", streamRequest("")).Body.String())
	var text strings.Builder
	for _, e := range events[1 : len(events)-2] {
		text.WriteString(*decode[chatChunk](t, []byte(e)).Choices[0].Delta.Content)
	}
	if text.String() != reply {
		t.Errorf("pieces concatenate to %q, want %q", text.String(), reply)
	}
}

func TestChatStreamToolCallArgumentsReassembleToJSON(t *testing.T) {
	body := toolRequest(`"stream":true,"stream_options":{"include_usage":true}`, "")
	rec := serve(t, Options{}, http.MethodPost, "/chat/completions", body)
	events := sseData(t, rec.Body.String())
	if events[len(events)-1] != "[DONE]" {
		t.Fatalf("no [DONE]: %s", rec.Body)
	}
	var chunks []chatChunk
	for _, e := range events[:len(events)-1] {
		chunks = append(chunks, decode[chatChunk](t, []byte(e)))
	}

	first := chunks[0].Choices[0].Delta
	if first.Role != "assistant" || len(first.ToolCalls) != 1 {
		t.Fatalf("first chunk = %s", events[0])
	}
	tc := first.ToolCalls[0]
	if tc.Index != 0 || tc.ID != "call_mock_0" || tc.Type != "function" || tc.Function.Name == nil ||
		*tc.Function.Name != "get_weather" || tc.Function.Arguments != "" {
		t.Errorf("first tool call delta = %s", events[0])
	}

	var args strings.Builder
	pieces := 0
	i := 1
	for ; i < len(chunks) && chunks[i].Choices[0].FinishReason == nil; i++ {
		d := chunks[i].Choices[0].Delta
		if len(d.ToolCalls) != 1 || d.ToolCalls[0].Index != 0 || d.ToolCalls[0].ID != "" || d.ToolCalls[0].Function.Name != nil {
			t.Errorf("argument chunk = %s", events[i])
			continue
		}
		args.WriteString(d.ToolCalls[0].Function.Arguments)
		pieces++
	}
	if pieces < 3 {
		t.Errorf("arguments came in %d deltas, want at least 3", pieces)
	}
	var parsed map[string]any
	if err := json.Unmarshal([]byte(args.String()), &parsed); err != nil {
		t.Fatalf("arguments %q do not reassemble to JSON: %v", args.String(), err)
	}
	if parsed["city"] != "mock" || parsed["unit"] != "mock" || parsed["days"] != 1.0 || len(parsed) != 3 {
		t.Errorf("arguments = %v", parsed)
	}
	if f := chunks[i].Choices[0].FinishReason; *f != "tool_calls" {
		t.Errorf("finish_reason = %q", *f)
	}
	var u completionUsage
	if err := json.Unmarshal(chunks[len(chunks)-1].Usage, &u); err != nil || u.CompletionTokens != pieces {
		t.Errorf("usage = %s, want %d completion tokens (one per piece)", chunks[len(chunks)-1].Usage, pieces)
	}
}

func TestArgumentPiecesNeverSplitARune(t *testing.T) {
	tests := []struct {
		name       string
		args       string
		wantPieces int
	}{
		{name: "empty object", args: "{}", wantPieces: 2},
		{name: "short", args: `{"a":1}`, wantPieces: 3},
		{name: "long", args: `{"city":"mock","unit":"mock"}`, wantPieces: 8},
		{name: "multibyte", args: `{"ville":"é€😀"}`, wantPieces: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pieces := argumentPieces(tt.args)
			if tt.wantPieces != 0 && len(pieces) != tt.wantPieces {
				t.Errorf("got %d pieces %q, want %d", len(pieces), pieces, tt.wantPieces)
			}
			if strings.Join(pieces, "") != tt.args {
				t.Errorf("pieces %q do not join to %q", pieces, tt.args)
			}
			for _, p := range pieces {
				if !utf8.ValidString(p) {
					t.Errorf("piece %q is not valid UTF-8 text", p)
				}
			}
		})
	}
}

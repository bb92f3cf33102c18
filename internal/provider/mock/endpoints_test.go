package mock

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/jsonstr"
)

func TestCompletionsAnswersTextCompletion(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantText   string
		wantFinish string
		wantPrompt int
	}{
		{
			name:     "string prompt",
			body:     `{"model":"gpt-3.5-turbo-instruct","prompt":"Say this is a test"}`,
			wantText: "This is the mock model answering: Say this is a test lorem", wantFinish: "stop", wantPrompt: 5,
		},
		{
			name:     "array of strings answers the first",
			body:     `{"model":"gpt-3.5-turbo-instruct","prompt":["first prompt","second one here"]}`,
			wantText: "This is the mock model answering: first prompt lorem ipsum dolor sit", wantFinish: "stop", wantPrompt: 5,
		},
		{
			name:     "token prompt",
			body:     `{"model":"gpt-3.5-turbo-instruct","prompt":[1212,318,257,1332]}`,
			wantText: "This is the mock model answering: lorem ipsum dolor sit amet consectetur", wantFinish: "stop", wantPrompt: 4,
		},
		{
			name:     "max_tokens",
			body:     `{"model":"gpt-3.5-turbo-instruct","prompt":"Say this","max_tokens":4}`,
			wantText: "This is the mock", wantFinish: "length", wantPrompt: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, Options{}, http.MethodPost, "/v1/completions", tt.body)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			got := decode[textCompletion](t, rec.Body.Bytes())
			if !strings.HasPrefix(got.ID, "cmpl-mock-") || got.Object != "text_completion" ||
				got.Created != fixedNow.Unix() || got.Model != "gpt-3.5-turbo-instruct" || len(got.Choices) != 1 {
				t.Fatalf("completion = %s", rec.Body)
			}
			c := got.Choices[0]
			if c.Text != tt.wantText || c.FinishReason == nil || *c.FinishReason != tt.wantFinish || string(c.Logprobs) != "null" {
				t.Errorf("choice = %+v, want %q/%s", c, tt.wantText, tt.wantFinish)
			}
			u := decode[completionUsage](t, got.Usage)
			if want := (completionUsage{tt.wantPrompt, countWords(tt.wantText), tt.wantPrompt + countWords(tt.wantText)}); u != want {
				t.Errorf("usage = %+v, want %+v", u, want)
			}
		})
	}
}

func TestCompletionsStreamEndsWithUsageChunkThenDone(t *testing.T) {
	body := `{"model":"m","prompt":"Say this","stream":true,"stream_options":{"include_usage":true}}`
	rec := serve(t, Options{Words: 4}, http.MethodPost, "/completions", body)
	if rec.Header().Get("Content-Type") != "text/event-stream" {
		t.Fatalf("Content-Type = %q", rec.Header().Get("Content-Type"))
	}
	events := sseData(t, rec.Body.String())
	// 4 words, finish, usage, [DONE]
	if len(events) != 7 || events[6] != "[DONE]" {
		t.Fatalf("events = %q", events)
	}
	var text strings.Builder
	for i, e := range events[:4] {
		c := decode[textCompletion](t, []byte(e))
		if c.Object != "text_completion" || len(c.Choices) != 1 || c.Choices[0].FinishReason != nil || string(c.Usage) != "null" {
			t.Errorf("chunk %d = %s", i, e)
		}
		text.WriteString(c.Choices[0].Text)
	}
	if text.String() != "This is the mock" {
		t.Errorf("text = %q", text.String())
	}
	fin := decode[textCompletion](t, []byte(events[4]))
	if fin.Choices[0].Text != "" || *fin.Choices[0].FinishReason != "stop" {
		t.Errorf("finish chunk = %s", events[4])
	}
	last := decode[textCompletion](t, []byte(events[5]))
	if last.Choices == nil || len(last.Choices) != 0 || decode[completionUsage](t, last.Usage) != (completionUsage{2, 4, 6}) {
		t.Errorf("usage chunk = %s", events[5])
	}
}

func TestCompletionsRejectsBadPrompt(t *testing.T) {
	for _, body := range []string{`{"model":"m","prompt":{"a":1}}`, `{"model":"m","prompt":[true]}`, `{"prompt":"x"}`} {
		if rec := serve(t, Options{}, http.MethodPost, "/completions", body); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", body, rec.Code)
		}
	}
}

func floats(t *testing.T, raw json.RawMessage) []float32 {
	t.Helper()
	var v []float32
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("embedding %s is not a float array: %v", raw, err)
	}
	return v
}

func TestEmbeddingsAreDeterministicUnitVectors(t *testing.T) {
	tests := []struct {
		name       string
		input      string
		dimensions int
		wantCount  int
		wantTokens int
	}{
		{name: "string", input: `"The food was delicious"`, wantCount: 1, wantTokens: 4},
		{name: "array of strings", input: `["one two","three"]`, wantCount: 2, wantTokens: 3},
		{name: "tokens", input: `[1,2,3]`, wantCount: 1, wantTokens: 3},
		{name: "token arrays", input: `[[1,2],[3]]`, wantCount: 2, wantTokens: 3},
		{name: "dimensions", input: `"x"`, dimensions: 64, wantCount: 1, wantTokens: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"model":"text-embedding-3-small","input":` + tt.input
			if tt.dimensions > 0 {
				body += `,"dimensions":` + strconv.Itoa(tt.dimensions)
			}
			body += "}"
			rec := serve(t, Options{}, http.MethodPost, "/v1/embeddings", body)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			got := decode[embeddingList](t, rec.Body.Bytes())
			if got.Object != "list" || got.Model != "text-embedding-3-small" || len(got.Data) != tt.wantCount {
				t.Fatalf("list = %s", rec.Body)
			}
			if got.Usage == nil || got.Usage.PromptTokens != tt.wantTokens || got.Usage.TotalTokens != tt.wantTokens {
				t.Errorf("usage = %+v, want %d tokens", got.Usage, tt.wantTokens)
			}
			wantDims := tt.dimensions
			if wantDims == 0 {
				wantDims = 8
			}
			for i, d := range got.Data {
				v := floats(t, d.Embedding)
				if d.Object != "embedding" || d.Index != i || len(v) != wantDims {
					t.Errorf("data[%d] = object %q index %d, %d dims; want %d dims", i, d.Object, d.Index, len(v), wantDims)
				}
				var norm float64
				for _, f := range v {
					norm += float64(f) * float64(f)
				}
				if math.Abs(norm-1) > 1e-5 {
					t.Errorf("data[%d] has norm² %v, want 1", i, norm)
				}
			}
			again := decode[embeddingList](t, serve(t, Options{}, http.MethodPost, "/v1/embeddings", body).Body.Bytes())
			if string(again.Data[0].Embedding) != string(got.Data[0].Embedding) {
				t.Error("the same input embedded twice differs")
			}
			if tt.wantCount == 2 && string(got.Data[0].Embedding) == string(got.Data[1].Embedding) {
				t.Error("different inputs got the same vector")
			}
		})
	}
}

func TestEmbeddingsBase64IsLittleEndianFloat32(t *testing.T) {
	const body = `{"model":"text-embedding-3-small","input":["hello world"],"dimensions":12%s}`
	plain := decode[embeddingList](t, serve(t, Options{}, http.MethodPost, "/embeddings", strings.Replace(body, "%s", "", 1)).Body.Bytes())
	enc := decode[embeddingList](t, serve(t, Options{}, http.MethodPost, "/embeddings", strings.Replace(body, "%s", `,"encoding_format":"base64"`, 1)).Body.Bytes())

	var s string
	if err := json.Unmarshal(enc.Data[0].Embedding, &s); err != nil {
		t.Fatalf("base64 embedding is not a string: %s", enc.Data[0].Embedding)
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 12*4 {
		t.Fatalf("decoded %d bytes, want 48", len(raw))
	}
	want := floats(t, plain.Data[0].Embedding)
	for i := range 12 {
		if got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])); got != want[i] {
			t.Errorf("component %d = %v, want %v as in the float answer", i, got, want[i])
		}
	}
}

func TestEmbeddingsRejectBadInput(t *testing.T) {
	tests := []struct{ name, body string }{
		{name: "missing input", body: `{"model":"m"}`},
		{name: "empty string", body: `{"model":"m","input":""}`},
		{name: "empty array", body: `{"model":"m","input":[]}`},
		{name: "empty token array", body: `{"model":"m","input":[[]]}`},
		{name: "mixed array", body: `{"model":"m","input":["a",1]}`},
		{name: "negative dimensions", body: `{"model":"m","input":"a","dimensions":-1}`},
		{name: "unknown encoding", body: `{"model":"m","input":"a","encoding_format":"hex"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if rec := serve(t, Options{}, http.MethodPost, "/embeddings", tt.body); rec.Code != http.StatusBadRequest {
				t.Errorf("status %d, want 400: %s", rec.Code, rec.Body)
			}
		})
	}
}

func TestModelsListsAndGetsConfiguredModels(t *testing.T) {
	tests := []struct {
		name       string
		models     []string
		path       string
		wantStatus int
		wantIDs    []string
	}{
		{name: "default list", path: "/v1/models", wantStatus: 200, wantIDs: []string{"mock-1"}},
		{name: "configured list", models: []string{"a", "org/b"}, path: "/models", wantStatus: 200, wantIDs: []string{"a", "org/b"}},
		{name: "get", models: []string{"a", "org/b"}, path: "/v1/models/org/b", wantStatus: 200, wantIDs: []string{"org/b"}},
		{name: "get unknown", path: "/v1/models/gpt-9", wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, Options{Models: tt.models}, http.MethodGet, tt.path, "")
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantStatus, rec.Body)
			}
			var ms []model
			switch {
			case tt.wantStatus == 404:
				env := decode[errorEnvelope](t, rec.Body.Bytes())
				if string(env.Error.Code) != `"model_not_found"` {
					t.Errorf("envelope = %s", rec.Body)
				}
				return
			case strings.HasSuffix(tt.path, "models"):
				list := decode[struct {
					Object string  `json:"object"`
					Data   []model `json:"data"`
				}](t, rec.Body.Bytes())
				if list.Object != "list" {
					t.Errorf("object = %q", list.Object)
				}
				ms = list.Data
			default:
				ms = []model{decode[model](t, rec.Body.Bytes())}
			}
			if len(ms) != len(tt.wantIDs) {
				t.Fatalf("got %d models, want %v", len(ms), tt.wantIDs)
			}
			for i, m := range ms {
				if m.ID != tt.wantIDs[i] || m.Object != "model" || m.OwnedBy != "mock" || m.Created != modelCreated {
					t.Errorf("model %d = %+v", i, m)
				}
			}
		})
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "tab\tnewline\ncr\r", "\x00\x01\x1f\x7f", "é€😀", "bad \xff utf8 \xe2\x82", "</script>&", "\u2028"} {
		var got string
		enc := jsonstr.Append(nil, s)
		if err := json.Unmarshal(enc, &got); err != nil {
			t.Errorf("%q encodes to invalid JSON %s: %v", s, enc, err)
			continue
		}
		want, _ := json.Marshal(s)
		var wantS string
		json.Unmarshal(want, &wantS)
		if got != wantS {
			t.Errorf("%q round-trips to %q, encoding/json gives %q", s, got, wantS)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("hello \"world\"\n")
	f.Add("\xff\x00é")
	f.Fuzz(func(t *testing.T, s string) {
		var got string
		if err := json.Unmarshal(jsonstr.Append(nil, s), &got); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		want, _ := json.Marshal(s)
		var wantS string
		json.Unmarshal(want, &wantS)
		if got != wantS {
			t.Fatalf("%q round-trips to %q, want %q", s, got, wantS)
		}
	})
}

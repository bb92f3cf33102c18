package gemini

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

func TestDecodeEmbedRequestToOpenAIAndGemini(t *testing.T) {
	er, err := DecodeEmbedRequest("emb", []byte(`{"requests":[
		{"model":"models/emb","content":{"parts":[{"text":"a"},{"text":"b"}]},"taskType":"RETRIEVAL_DOCUMENT","title":"T","outputDimensionality":8},
		{"content":{"parts":[{"text":"c"}]},"task_type":"RETRIEVAL_DOCUMENT","output_dimensionality":8}]}`), true)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(er.OpenAIEmbedBody("up")); got != `{"model":"up","input":["a\nb","c"],"dimensions":8,"encoding_format":"float"}` {
		t.Fatalf("OpenAI body %s", got)
	}
	var g batchEmbedContentsRequest
	if err := json.Unmarshal(er.GeminiEmbedBody("up"), &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Requests) != 2 || g.Requests[0].Model != "models/up" || g.Requests[1].Model != "models/up" || g.Requests[0].Title != "T" ||
		g.Requests[1].TaskType != "RETRIEVAL_DOCUMENT" || *g.Requests[1].OutputDimensionality != 8 || *g.Requests[1].Content.Parts[0].Text != "c" {
		t.Fatalf("Gemini body %s", er.GeminiEmbedBody("up"))
	}
	// Without outputDimensionality, no "dimensions".
	er, err = DecodeEmbedRequest("emb", []byte(`{"content":{"parts":[{"text":"x"}]}}`), false)
	if err != nil || strings.Contains(string(er.OpenAIEmbedBody("up")), "dimensions") {
		t.Fatalf("%v %s", err, er.OpenAIEmbedBody("up"))
	}
}

func TestDecodeEmbedRequestRefusals(t *testing.T) {
	many := `{"requests":[` + strings.TrimSuffix(strings.Repeat(`{"content":{"parts":[{"text":"x"}]}},`, MaxEmbedBatch+1), ",") + `]}`
	for _, tc := range []struct {
		body  string
		batch bool
		param string
	}{
		{many, true, "requests"},
		{`{"requests":[]}`, true, "requests"},
		{`{"requests":{}}`, true, "requests"},
		{`{"requests":[{"model":"models/other","content":{"parts":[{"text":"x"}]}}]}`, true, "requests[0].model"},
		{`{"requests":[{"content":{"parts":[{"text":"x"}]}},{"content":{"parts":[{"text":"y"}]},"outputDimensionality":3}]}`, true, "requests[1].outputDimensionality"},
		{`{"content":{"parts":[{"inlineData":{"mimeType":"image/png","data":"AA=="}}]}}`, false, "content.parts"},
		{`{"content":{"parts":[]}}`, false, "content"},
		{`{"content":{"parts":[{"text":""}]}}`, false, "content.parts"},
		{`{"content":{"parts":[{"text":"x"}]},"outputDimensionality":-1}`, false, "outputDimensionality"},
		{`{"content":{"parts":[{"text":"x"}]},"outputDimensionality":100000}`, false, "outputDimensionality"},
		{`{"content":{"parts":[{"text":"x"}]},"taskType":"` + strings.Repeat("X", 65) + `"}`, false, "taskType"},
		{`null`, false, ""},
		{`[]`, false, ""},
	} {
		_, err := DecodeEmbedRequest("emb", []byte(tc.body), tc.batch)
		e, ok := err.(*llm.Error)
		if !ok || e.Status != 400 || e.Param != tc.param {
			t.Errorf("%.60s: %v, want a 400 on %q", tc.body, err, tc.param)
		}
	}
	// Exactly Google's limit is fine.
	at := `{"requests":[` + strings.TrimSuffix(strings.Repeat(`{"content":{"parts":[{"text":"x"}]}},`, MaxEmbedBatch), ",") + `]}`
	if _, err := DecodeEmbedRequest("emb", []byte(at), true); err != nil {
		t.Fatal(err)
	}
}

func TestEmbedResponsesInTheClientsShape(t *testing.T) {
	er, _ := DecodeEmbedRequest("emb", []byte(`{"requests":[{"content":{"parts":[{"text":"a"}]}},{"content":{"parts":[{"text":"b"}]}}]}`), true)
	// OpenAI's data may come in any order; index says which input.
	vecs, err := er.OpenAIEmbeddings([]byte(`{"data":[{"index":1,"embedding":[3,4.5e-3]},{"index":0,"embedding":[1,-2]}],"usage":{"prompt_tokens":2}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(er.EncodeEmbedResponse(vecs)); got != `{"embeddings":[{"values":[1,-2]},{"values":[3,4.5e-3]}]}` {
		t.Fatalf("batch answer %s", got)
	}
	gv, err := er.GeminiEmbeddings([]byte(`{"embeddings":[{"values":[1,-2]},{"values":[3,4.5e-3]}]}`))
	if err != nil || string(er.EncodeEmbedResponse(gv)) != `{"embeddings":[{"values":[1,-2]},{"values":[3,4.5e-3]}]}` {
		t.Fatalf("Gemini answer: %v", err)
	}
	for _, bad := range []string{
		`{}`,
		`{"data":[{"index":0,"embedding":[1]}]}`,
		`{"data":[{"index":0,"embedding":[1]},{"index":0,"embedding":[2]}]}`,
		`{"data":[{"index":0,"embedding":[1]},{"index":2,"embedding":[2]}]}`,
		`{"data":[{"index":0,"embedding":"AAAA"},{"index":1,"embedding":[2]}]}`,
		`{"data":[{"index":0,"embedding":[]},{"index":1,"embedding":[2]}]}`,
		`{"data":[{"index":0,"embedding":["1"]},{"index":1,"embedding":[2]}]}`,
		`{"data":[{"embedding":[1]},{"index":1,"embedding":[2]}]}`,
	} {
		if _, err := er.OpenAIEmbeddings([]byte(bad)); err == nil {
			t.Errorf("OpenAI answer %s accepted", bad)
		}
	}
	for _, bad := range []string{`{}`, `{"embeddings":[{"values":[1]}]}`, `{"embeddings":[{"values":[1]},{"values":[2]},{"values":[3]}]}`, `{"embeddings":[{"values":[1]},{}]}`} {
		if _, err := er.GeminiEmbeddings([]byte(bad)); err == nil {
			t.Errorf("Gemini answer %s accepted", bad)
		}
	}

	one, _ := DecodeEmbedRequest("emb", []byte(`{"content":{"parts":[{"text":"a"}]}}`), false)
	v, err := one.GeminiEmbeddings([]byte(`{"embeddings":[{"values":[0.5]}]}`))
	if err != nil || string(one.EncodeEmbedResponse(v)) != `{"embedding":{"values":[0.5]}}` {
		t.Fatalf("embedContent answer: %v %s", err, one.EncodeEmbedResponse(v))
	}
}

func FuzzDecodeEmbedRequest(f *testing.F) {
	f.Add([]byte(`{"content":{"parts":[{"text":"x"}]},"outputDimensionality":8}`), false)
	f.Add([]byte(`{"requests":[{"content":{"parts":[{"text":"x"}]},"task_type":"CLUSTERING"}]}`), true)
	f.Fuzz(func(t *testing.T, body []byte, batch bool) {
		er, err := DecodeEmbedRequest("m", body, batch)
		if err != nil {
			if _, ok := err.(*llm.Error); !ok {
				t.Fatalf("error %v is not an *llm.Error", err)
			}
			return
		}
		if len(er.Texts) == 0 || len(er.Texts) > MaxEmbedBatch || !json.Valid(er.OpenAIEmbedBody("m")) || !json.Valid(er.GeminiEmbedBody("m")) {
			t.Fatalf("decoded %d texts; bodies %s %s", len(er.Texts), er.OpenAIEmbedBody("m"), er.GeminiEmbedBody("m"))
		}
	})
}

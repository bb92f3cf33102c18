package relay

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	oa "github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/framing"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// TestPumpStreamReadsTheFormatsFraming: the relay reads a stream through
// the framing its upstream format names, not SSE by assumption. A format
// framed as one JSON array (Gemini's streamGenerateContent without
// alt=sse) is relayed element by element to a Gemini client, with its
// usage and finish reason kept; broken framing before the first element is
// an attempt failure (fail over), after it an error event in the stream.
// The format is the attempt model's: the provider's own, or that of its
// ModelFormats entry for the model.
func TestPumpStreamReadsTheFormatsFraming(t *testing.T) {
	const arrayFormat = provider.Format(250)
	upstreamFormats[arrayFormat] = upstreamFormat{framing: framing.JSONArray()}
	t.Cleanup(func() { delete(upstreamFormats, arrayFormat) })

	first := `{"candidates":[{"content":{"parts":[{"text":"Hel"}],"role":"model"},"index":0}]}`
	last := `{"candidates":[{"content":{"parts":[{"text":"lo"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":2,"totalTokenCount":5}}`
	tests := []framingCase{
		{name: "array stream", contentType: "application/json; charset=UTF-8", body: "[" + first + "\r\n,\r\n" + last + "]",
			wantEvents: []string{first, last}, wantUsage: 2, wantReason: "stop"},
		{name: "not an array", contentType: "application/json", body: `{"error":{"code":500,"message":"boom"}}`,
			wantErr: "not framed as its format says"},
		{name: "broken after the first element", contentType: "application/json", body: "[" + first + " x",
			wantEvents: []string{first, `{"error":`}},
		{name: "an SSE answer to an array format", contentType: "text/event-stream", body: "data: " + first + "\n\n",
			wantErr: "without a stream"},
	}
	providers := map[string]*provider.Provider{
		"own format":   {Name: "array-up", Format: arrayFormat},
		"model format": {Name: "mixed-up", Format: provider.FormatGemini, ModelFormats: []provider.ModelFormat{{Models: []string{"arr-*"}, Format: arrayFormat}}},
	}
	for _, tt := range tests {
		for pname, p := range providers {
			t.Run(tt.name+"/"+pname, func(t *testing.T) {
				pumpArray(t, p, tt)
			})
		}
	}
}

type framingCase struct {
	name        string
	contentType string
	body        string
	wantErr     string   // the attempt's error (nothing sent to the client)
	wantEvents  []string // the client's stream, data lines
	wantUsage   int64    // completion tokens recorded
	wantReason  string
}

// pumpArray streams tt's body from p's model arr-m to a Gemini client.
func pumpArray(t *testing.T, p *provider.Provider, tt framingCase) {
	t.Helper()
	rl := New(Deps{Config: &config.Config{Server: config.Server{MaxStreamBytes: 1 << 20, StreamWriteTimeout: time.Minute}}})
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {tt.contentType}}, Body: io.NopCloser(strings.NewReader(tt.body))}
	r := httptest.NewRequest(http.MethodPost, "/v1beta/models/m:streamGenerateContent", nil)
	w := httptest.NewRecorder()
	c := &call{in: IngressGemini}
	c.gen.UpstreamModel = "arr-m"
	at := newAttemptCtx(r.Context(), clocks{total: time.Minute, totalName: "timeout"}, time.Now)
	defer at.cancel()
	e := rl.pumpStream(w, r, resp, p, c, &oa.Request{Stream: true}, at, &geminiPassSource{})
	if tt.wantErr != "" {
		if e == nil || !strings.Contains(llm.AsError(e).Message, tt.wantErr) || w.Body.Len() != 0 {
			t.Fatalf("error %v and %q sent, want %q and nothing sent", e, w.Body.String(), tt.wantErr)
		}
		return
	}
	if e != nil {
		t.Fatalf("error %v", e)
	}
	var events []string
	for _, line := range strings.Split(w.Body.String(), "\n") {
		if d, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), "data: "); ok {
			events = append(events, d)
		}
	}
	if len(events) != len(tt.wantEvents) {
		t.Fatalf("client got %q, want %d events", w.Body.String(), len(tt.wantEvents))
	}
	for i, want := range tt.wantEvents {
		if !strings.HasPrefix(events[i], want) {
			t.Errorf("event %d: %s, want %s", i, events[i], want)
		}
	}
	if c.usage.CompletionTokens != tt.wantUsage || c.gen.FinishReason != tt.wantReason {
		t.Errorf("recorded %d completion tokens, reason %q; want %d, %q", c.usage.CompletionTokens, c.gen.FinishReason, tt.wantUsage, tt.wantReason)
	}
}

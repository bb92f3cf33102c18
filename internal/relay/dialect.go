package relay

import (
	"net/http"

	"github.com/switchyard-gw/switchyard/internal/api/anthropic"
	"github.com/switchyard-gw/switchyard/internal/api/gemini"
	oa "github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// Dialect is a client dialect as a value: how its requests are decoded and
// how whole answers, stream events, errors and keep-alives are written
// back, and which upstream format speaks it natively (passthrough). The
// relay holds no switch on a dialect: adding one is its codec package plus
// one Dialect value here.
type Dialect struct {
	Name string
	// Native is the upstream format that speaks this dialect: an attempt
	// on such a provider is served by passthrough. 0: none does.
	Native provider.Format
	// passthrough serves an attempt on a Native upstream, keeping the
	// client's bytes; nil when Native is 0.
	passthrough func(rl *Relay, w http.ResponseWriter, r *http.Request, c *call, req *oa.Request, cd candidate, p *provider.Provider, at *attemptCtx) (int, error)
	// prepare, if set, runs once the key, the body and the model are
	// known, before routing: it loads what the request refers to beyond
	// its body (Responses: the stored response that previous_response_id
	// names). nil: nothing to load.
	prepare func(rl *Relay, r *http.Request, c *call) error
	// nativeOnly, if set, reports that the request can be served only by
	// passthrough (a Responses request with a built-in tool): routes whose
	// provider does not speak Native are skipped. nil: never.
	nativeOnly func(c *call) bool
	// decode reads the client's body into the canonical request.
	decode func(c *call) (*llm.Request, error)
	// encodeResponse renders a whole canonical answer and the usage it
	// carries; rw applies the generation id and usage.cost where the
	// dialect shows them.
	encodeResponse func(c *call, resp *llm.Response, rw oa.Rewrite) ([]byte, llm.Usage)
	// newStream is the source of a translated stream: the upstream's
	// events decoded by dec, written in this dialect.
	newStream func(c *call, req *oa.Request, rw oa.Rewrite, dec eventDecoder) streamSource
	// encodeError renders an error in the dialect's envelope.
	encodeError func(e *llm.Error, requestID string) []byte
	// keepAliveEvent is what a stream sends during a long upstream silence.
	keepAliveEvent []byte
	// missingKey is the 401 message for a request with no key; "" lets the
	// key cache answer (it names the OpenAI header).
	missingKey string
	// attempt, if set, serves every attempt itself, whatever the
	// upstream's format: a dialect of an endpoint that is not chat
	// (Gemini's embedContent), which has no use for the chat parts
	// (decode, encodeResponse, newStream) nor for a passthrough.
	attempt func(rl *Relay, w http.ResponseWriter, r *http.Request, c *call, req *oa.Request, cd candidate, p *provider.Provider, at *attemptCtx) (int, error)
}

// Ingress is the dialect a client speaks; the values are the entries of
// dialects.
type Ingress = *Dialect

// The client dialects.
var (
	IngressOpenAI = &Dialect{
		Name:           "openai",
		Native:         provider.FormatOpenAI,
		passthrough:    (*Relay).attemptOpenAIPassthrough,
		decode:         func(c *call) (*llm.Request, error) { return oa.DecodeRequest(c.body) },
		encodeResponse: encodeOpenAIResponse,
		newStream:      newOpenAIStream,
		encodeError:    encodeOpenAIError,
		keepAliveEvent: keepAliveComment,
	}
	IngressAnthropic = &Dialect{
		Name:        "anthropic",
		Native:      provider.FormatAnthropic,
		passthrough: (*Relay).attemptAnthropicPassthrough,
		decode:      func(c *call) (*llm.Request, error) { return anthropic.DecodeRequest(c.body) },
		encodeResponse: func(_ *call, resp *llm.Response, _ oa.Rewrite) ([]byte, llm.Usage) {
			return anthropic.EncodeResponse(resp), resp.Usage
		},
		newStream: func(c *call, req *oa.Request, _ oa.Rewrite, dec eventDecoder) streamSource {
			return &canonicalSource{dec: dec, enc: &anthropic.StreamEncoder{ID: c.gen.ID, Model: req.Model}, id: c.gen.ID, model: req.Model}
		},
		encodeError:    func(e *llm.Error, _ string) []byte { return anthropic.EncodeError(e) },
		keepAliveEvent: keepAliveComment,
		missingKey:     "Missing API key. Send it as the header 'x-api-key: sk-sy-…' (Anthropic SDKs do this from api_key / ANTHROPIC_API_KEY) or 'Authorization: Bearer sk-sy-…'.",
	}
	IngressGemini = &Dialect{
		Name:        "gemini",
		Native:      provider.FormatGemini,
		passthrough: (*Relay).attemptGeminiPassthrough,
		decode:      func(c *call) (*llm.Request, error) { return gemini.DecodeRequest(c.gen.Model, c.body) },
		encodeResponse: func(_ *call, resp *llm.Response, _ oa.Rewrite) ([]byte, llm.Usage) {
			return gemini.EncodeResponse(resp), resp.Usage
		},
		newStream: func(c *call, req *oa.Request, _ oa.Rewrite, dec eventDecoder) streamSource {
			return &canonicalSource{dec: dec, enc: &gemini.StreamEncoder{}, id: c.gen.ID, model: req.Model}
		},
		encodeError: func(e *llm.Error, _ string) []byte { return gemini.EncodeError(e) },
		// Gemini's Go SDK takes every line that is not "data:" for a broken
		// chunk and ends the stream; an empty event (a blank line, in
		// Gemini's own framing) is skipped by every SSE parser and still
		// keeps idle proxies from closing the connection.
		keepAliveEvent: blankEvent,
		missingKey:     geminiMissingKey,
	}
	// IngressGeminiEmbed is Gemini's :embedContent and :batchEmbedContents,
	// served from OpenAI-format upstreams (translated) and Gemini ones
	// (attemptGeminiEmbed).
	IngressGeminiEmbed = &Dialect{
		Name:           "gemini-embed",
		attempt:        (*Relay).attemptGeminiEmbed,
		encodeError:    func(e *llm.Error, _ string) []byte { return gemini.EncodeError(e) },
		keepAliveEvent: blankEvent,
		missingKey:     geminiMissingKey,
	}
)

const geminiMissingKey = "Missing API key. Send it as the header 'x-goog-api-key: sk-sy-…' or the query parameter ?key= (Google Gen AI SDKs do this from api_key / GEMINI_API_KEY)."

// dialects lists every client dialect; TestDialectsAreComplete checks each
// has every part.
var dialects = []*Dialect{IngressOpenAI, IngressAnthropic, IngressGemini, IngressResponses, IngressGeminiEmbed}

var (
	keepAliveComment = []byte(": keep-alive\n\n")
	blankEvent       = []byte("\r\n\r\n")
)

// EncodeError renders e in the dialect's error envelope.
func (d *Dialect) EncodeError(e *llm.Error, requestID string) []byte {
	return d.encodeError(e, requestID)
}

func encodeOpenAIError(e *llm.Error, requestID string) []byte {
	return oa.AppendErrorEnvelope(make([]byte, 0, 256), e, requestID)
}

// encodeOpenAIResponse encodes the answer, then applies the same rewrite as
// a passthrough answer (ids, usage.cost).
func encodeOpenAIResponse(_ *call, resp *llm.Response, rw oa.Rewrite) ([]byte, llm.Usage) {
	out, u, _ := rw.RewriteResponse(oa.EncodeResponse(resp))
	return out, u
}

// newOpenAIStream re-encodes canonical events as OpenAI chunks, which then
// go through the passthrough rewriter: ids, usage.cost and the usage rules
// are applied in one place.
func newOpenAIStream(c *call, req *oa.Request, rw oa.Rewrite, dec eventDecoder) streamSource {
	return &openaiSource{
		s:   newOAStream(c, req, rw),
		dec: dec,
		// The encoder always emits the usage chunk; oa.Stream then applies
		// the client's include_usage choice exactly as for a passthrough stream.
		enc: &oa.ChunkEncoder{ID: c.gen.ID, Model: req.Model, Created: c.start.Unix(), IncludeUsage: true},
	}
}

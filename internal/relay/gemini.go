package relay

import (
	"fmt"
	"net/http"

	"github.com/switchyard-gw/switchyard/internal/api/gemini"
	oa "github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// attemptGeminiPassthrough serves a Gemini request from a Gemini upstream.
// The body goes up as the client sent it (the model is in the URL), so
// what the canonical form does not carry (safetySettings, cachedContent,
// responseLogprobs, labels…) still reaches the upstream; the answer comes
// back byte for byte, decoded only for usage, the finish reason and errors.
func (rl *Relay) attemptGeminiPassthrough(w http.ResponseWriter, r *http.Request, c *call, req *oa.Request, cd candidate, p *provider.Provider, at *attemptCtx) (int, error) {
	resp, status, err := rl.send(r, c, p, at, p.Path(gemini.Path(cd.t.Model, req.Stream), cd.t.Model), c.body, req.Stream, gemini.DecodeError)
	if resp == nil {
		return status, err
	}
	defer resp.Body.Close()
	if req.Stream {
		return resp.StatusCode, rl.pumpStream(w, r, resp, p, c, req, at, &geminiPassSource{})
	}
	at.firstByte()
	raw, err := rl.readAnswer(r, resp, p, c, at)
	if raw == nil {
		return resp.StatusCode, err
	}
	lresp, err := gemini.DecodeResponse(raw)
	if err != nil {
		return resp.StatusCode, llm.UpstreamError("provider '"+p.Name+"' returned a malformed response", err)
	}
	c.usage, c.produced = lresp.Usage, true
	if !c.usage.Present {
		for _, part := range lresp.Message.Parts {
			if part.Type == llm.PartText {
				c.text.AppendString(part.Text)
			}
		}
	}
	c.gen.FinishReason = string(lresp.FinishReason)
	rl.writeJSON(w, c, raw)
	return resp.StatusCode, nil
}

// geminiPassSource forwards a Gemini stream to a Gemini client event by
// event, reading each for usage, the finish reason, errors and text.
type geminiPassSource struct {
	dec   gemini.StreamDecoder
	ended bool
	streamTally
}

func (g *geminiPassSource) event(out []byte, _ string, data []byte) ([]byte, error) {
	events, err := g.dec.Event(data)
	if err != nil {
		return out, fmt.Errorf("%w: %v", oa.ErrMalformedChunk, err)
	}
	for i := range events {
		if err := g.note(&events[i]); err != nil {
			return out, err
		}
	}
	return gemini.AppendData(out, data), nil
}

// Gemini marks no end of a stream: it is complete once a finish reason came.
func (g *geminiPassSource) finish(out []byte) ([]byte, bool) { return out, g.dec.Complete() }
func (g *geminiPassSource) done() bool                       { return g.ended }

func (g *geminiPassSource) fail(out []byte, e *llm.Error) []byte {
	g.ended = true
	return gemini.AppendData(out, gemini.EncodeError(e))
}

func (g *geminiPassSource) cut(out []byte) []byte {
	g.ended, g.reason = true, llm.FinishLength
	return gemini.AppendData(out, []byte(`{"candidates":[{"content":{"role":"model","parts":[{"text":""}]},"finishReason":"MAX_TOKENS","index":0}]}`))
}

package relay

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/switchyard-gw/switchyard/internal/api/anthropic"
	oa "github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// attemptAnthropicPassthrough serves an Anthropic Messages request from an
// Anthropic upstream. The body goes up as the client sent it, with only
// the model renamed (and max_tokens added when the client gave none); the
// answer comes back byte for byte. Only the message-level events of a
// stream (message_start, message_delta, message_stop, error) are read, for
// usage and completeness; content events are forwarded unparsed.
func (rl *Relay) attemptAnthropicPassthrough(w http.ResponseWriter, r *http.Request, c *call, req *oa.Request, cd candidate, p *provider.Provider, at *attemptCtx) (int, error) {
	body := c.body
	var err error
	if cd.t.Model != req.Model {
		if body, err = sjson.SetBytes(body, "model", cd.t.Model); err != nil {
			return 0, llm.BadRequest("model", "could not rename the model: %v", err)
		}
	}
	if req.MaxTokens == 0 {
		maxOut := int64(defaultMaxOutput)
		if cd.res.Entry != nil && cd.res.Entry.MaxOutputTokens > 0 {
			maxOut = int64(cd.res.Entry.MaxOutputTokens)
		}
		if body, err = sjson.SetBytes(body, "max_tokens", maxOut); err != nil {
			return 0, llm.BadRequest("max_tokens", "could not set max_tokens: %v", err)
		}
	}
	resp, status, err := rl.send(r, c, p, at, p.Path("/v1/messages", cd.t.Model), body, req.Stream, anthropic.DecodeError)
	if resp == nil {
		return status, err
	}
	defer resp.Body.Close()
	if req.Stream {
		return resp.StatusCode, rl.pumpStream(w, r, resp, p, c, req, at, &anthropicPassSource{})
	}
	at.firstByte()
	raw, err := rl.readAnswer(r, resp, p, c, at)
	if raw == nil {
		return resp.StatusCode, err
	}
	lresp, err := anthropic.DecodeResponse(raw, "")
	if err != nil {
		return resp.StatusCode, llm.UpstreamError("provider '"+p.Name+"' returned a malformed response", err)
	}
	c.usage, c.produced = lresp.Usage, true
	c.gen.FinishReason = string(lresp.FinishReason)
	rl.writeJSON(w, c, raw)
	return resp.StatusCode, nil
}

// anthropicPassSource forwards an Anthropic stream to an Anthropic client.
type anthropicPassSource struct {
	dec      anthropic.StreamDecoder
	usage    llm.Usage
	reason   llm.FinishReason
	produced bool
	final    bool           // message_delta came: usage is the upstream's final count
	text     llm.TextSample // what was relayed, to estimate a cut stream's output
}

func (a *anthropicPassSource) event(out []byte, name string, data []byte) ([]byte, error) {
	if name == "" {
		name = gjson.GetBytes(data, "type").String()
	}
	switch name {
	case "message_start", "message_delta", "message_stop", "error":
		events, err := a.dec.Event(name, data)
		if err != nil {
			return out, fmt.Errorf("%w: %v", oa.ErrMalformedChunk, err)
		}
		if name == "message_delta" {
			a.final = true
		}
		for _, ev := range events {
			if ev.Usage != nil {
				a.usage = *ev.Usage
			}
			switch ev.Kind {
			case llm.EventFinish:
				a.reason = ev.FinishReason
			case llm.EventError:
				return out, &oa.UpstreamStreamError{Message: ev.Error.Message}
			}
		}
	case "content_block_start":
		a.produced = true
	case "content_block_delta":
		a.produced = true
		d := gjson.GetBytes(data, "delta")
		for _, k := range [...]string{"text", "partial_json", "thinking"} {
			if v := d.Get(k); v.Type == gjson.String {
				a.text.AppendString(v.Str)
			}
		}
	}
	return appendNamedEvent(out, name, data), nil
}

func (a *anthropicPassSource) finish(out []byte) ([]byte, bool) { return out, a.dec.Complete() }

func (a *anthropicPassSource) fail(out []byte, e *llm.Error) []byte {
	return appendNamedEvent(out, "error", anthropic.EncodeError(e))
}

func (a *anthropicPassSource) done() bool { return a.dec.Complete() }

// Anthropic passthrough forwards events as they are: an overrun is not
// charged (billable) but not cut either (textBytes is not reported).
func (a *anthropicPassSource) textBytes() int64      { return 0 }
func (a *anthropicPassSource) cut(out []byte) []byte { return out }

func (a *anthropicPassSource) result(c *call) {
	c.usage, c.text = a.usage, a.text
	if !a.final {
		// message_start's output_tokens is a placeholder (1): a stream cut
		// before message_delta is estimated from what was relayed, as on
		// every translated path.
		c.usage = llm.Usage{}
	}
	c.produced = c.produced || a.produced
	c.gen.FinishReason = string(a.reason)
}

// appendNamedEvent frames one SSE event with its name. Line breaks inside
// the data (JSON whitespace, if an upstream spread an event over several
// data: lines) are dropped so they cannot end the event early.
func appendNamedEvent(out []byte, name string, data []byte) []byte {
	out = append(out, "event: "...)
	out = append(out, name...)
	out = append(out, "\ndata: "...)
	if bytes.IndexByte(data, '\n') < 0 && bytes.IndexByte(data, '\r') < 0 {
		return append(append(out, data...), "\n\n"...)
	}
	for _, ch := range data {
		if ch != '\n' && ch != '\r' {
			out = append(out, ch)
		}
	}
	return append(out, "\n\n"...)
}

package relay

import (
	"net/http"

	oa "github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/api/responses"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

// IngressResponses is the OpenAI Responses API (POST /v1/responses), the
// dialect of the OpenAI SDKs' responses.create, Codex and the Agents SDK.
// No upstream speaks it natively yet: every request is translated.
var IngressResponses = &Dialect{
	Name: "responses",
	decode: func(c *call) (*llm.Request, error) {
		r, extra, err := responses.DecodeRequest(c.body)
		if err != nil {
			return nil, err
		}
		c.extra = extra
		return r, nil
	},
	encodeResponse: func(c *call, resp *llm.Response, _ oa.Rewrite) ([]byte, llm.Usage) {
		return responses.EncodeResponse(resp, responsesOptions(c)), resp.Usage
	},
	newStream: func(c *call, req *oa.Request, _ oa.Rewrite, dec eventDecoder) streamSource {
		enc := &responses.StreamEncoder{ID: c.gen.ID, Model: req.Model, Options: responsesOptions(c)}
		return &canonicalSource{dec: dec, enc: enc, id: c.gen.ID, model: req.Model}
	},
	encodeError:    responses.EncodeError,
	keepAliveEvent: keepAliveComment,
}

// responsesOptions is what a Response object carries beside the answer:
// its time, usage.cost, and the request's settings, which OpenAI echoes.
func responsesOptions(c *call) responses.Options {
	extra, _ := c.extra.(*responses.Extra)
	return responses.Options{Created: c.start.Unix(), Cost: c.cost, Echo: extra}
}

// Responses serves POST /v1/responses.
func (rl *Relay) Responses(w http.ResponseWriter, r *http.Request) error {
	return rl.serve(w, r, IngressResponses, oa.OpChat, "", scanResponses)
}

// scanResponses reads what routing and billing need from a Responses body.
func scanResponses(body []byte) (*oa.Request, error) {
	s, err := responses.ScanRequest(body)
	if err != nil {
		return nil, err
	}
	return &oa.Request{Op: oa.OpChat, Model: s.Model, Stream: s.Stream, MaxTokens: s.MaxOutputTokens, User: s.User, IncludeUsage: true}, nil
}

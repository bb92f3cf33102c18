package relay

import (
	"net/http"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/api/gemini"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

// GeminiCountTokens serves POST …/models/{model}:countTokens. The count is
// the gateway's own, made as for /v1/messages/count_tokens when no
// Anthropic upstream counts: the prompt as an OpenAI-format upstream would
// see it, with the model's tokenizer (or the offline o200k one). It is not
// asked of a Gemini upstream, so the answer is the same whichever route
// serves the model, and it is what the gateway estimates and limits with.
// Like count_tokens it is free, records no generation and counts against
// the requests per minute.
func (rl *Relay) GeminiCountTokens(model string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		key, err := rl.GeminiKey(r)
		if err != nil {
			return err
		}
		body, err := rl.readJSON(r)
		if err != nil {
			return err
		}
		model = strings.TrimPrefix(model, "models/")
		if model == "" || len(model) > maxModelName {
			return llm.BadRequest("model", "the URL names no model; use /v1beta/models/MODEL:countTokens")
		}
		lreq, err := gemini.DecodeCountTokensRequest(model, body)
		if err != nil {
			return err
		}
		res, err := rl.Resolver.Resolve(model)
		if err != nil {
			return err
		}
		if err := allowed(key, res, ""); err != nil {
			return err
		}
		p, err := rl.limit(w, r, key, true, nil)
		if err != nil {
			return err
		}
		p.Settle(0)
		writeBody(w, gemini.EncodeCountTokensResponse(rl.localCount(res.Requested, lreq)))
		return nil
	}
}

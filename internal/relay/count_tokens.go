package relay

import (
	"io"
	"net/http"
	"strconv"

	"github.com/switchyard-gw/switchyard/internal/api/anthropic"
	oa "github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// CountTokens serves POST /v1/messages/count_tokens. When the model's first
// usable route is an Anthropic upstream the count is Anthropic's own;
// otherwise it is counted here with the model's tokenizer (or the offline
// o200k one), which is what an OpenAI-format upstream would bill. It is
// free and leaves no generation record: nothing is generated. It counts
// against the key's and account's requests per minute.
func (rl *Relay) CountTokens(w http.ResponseWriter, r *http.Request) error {
	key, err := rl.Authenticate(r)
	if err != nil {
		return err
	}
	body, err := rl.readJSON(r)
	if err != nil {
		return err
	}
	req, err := scanCountTokens(body)
	if err != nil {
		return err
	}
	lreq, err := anthropic.DecodeRequest(body)
	if err != nil {
		return err
	}
	res, err := rl.Resolver.Resolve(req.Model)
	if err != nil {
		return err
	}
	if err := allowed(key, res, ""); err != nil {
		return err // a key may not learn anything of a model it may not use
	}
	// Counting generates nothing: only the requests per minute apply.
	p, err := rl.limit(w, r, key, true, nil)
	if err != nil {
		return err
	}
	p.Settle(0)
	n := int64(-1)
	for _, t := range res.Targets {
		p, ok := rl.Providers[t.Provider]
		if !ok {
			continue
		}
		if p.Format == provider.FormatAnthropic {
			lreq.Model = t.Model
			if n, err = rl.upstreamCount(r, p, lreq); err != nil {
				return err
			}
		}
		break
	}
	if n < 0 {
		n = rl.localCount(res.Requested, lreq)
	}
	out := anthropic.EncodeCountTokensResponse(n)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(out)))
	_, _ = w.Write(out)
	return nil
}

// scanCountTokens checks a count_tokens body: a Messages request without
// max_tokens.
func scanCountTokens(body []byte) (*oa.Request, error) {
	root, err := jsonObject(body)
	if err != nil {
		return nil, err
	}
	m := root.Get("model")
	if m.Str == "" || len(m.Str) > maxModelName {
		return nil, llm.BadRequest("model", "'model' is required and must be a model id, such as \"claude-sonnet-4-5\"")
	}
	if !root.Get("messages").IsArray() {
		return nil, llm.BadRequest("messages", "'messages' is required and must be an array")
	}
	return &oa.Request{Op: oa.OpChat, Model: m.Str}, nil
}

// upstreamCount asks an Anthropic upstream.
func (rl *Relay) upstreamCount(r *http.Request, p *provider.Provider, lreq *llm.Request) (int64, error) {
	body, err := anthropic.EncodeCountTokensRequest(lreq)
	if err != nil {
		return 0, err
	}
	ureq, err := p.NewRequest(r.Context(), p.Path("/v1/messages/count_tokens", lreq.Model), body, false, "")
	if err != nil {
		return 0, buildError(p, err)
	}
	resp, err := p.Do(ureq)
	if err != nil {
		return 0, transportError(p, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamError))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return 0, classifyStatus(p, resp.StatusCode, resp.Header.Get("Retry-After"), anthropic.DecodeError(resp.StatusCode, raw))
	}
	n, err := anthropic.DecodeCountTokensResponse(raw)
	if err != nil {
		return 0, llm.UpstreamError("provider '"+p.Name+"' returned a malformed count", err)
	}
	return n, nil
}

// localCount counts the request's prompt as an OpenAI-format upstream
// would see it.
func (rl *Relay) localCount(model string, lreq *llm.Request) int64 {
	body, err := oa.EncodeRequest(lreq)
	if err != nil {
		return 0
	}
	if rl.Estimator == nil {
		return int64(len(body)+3) / 4
	}
	return rl.chatPromptTokens(model, body)
}

package relay

import (
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/api/gemini"
	oa "github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
)

// GeminiEmbed serves POST …/models/{model}:embedContent (batch false) and
// :batchEmbedContents. The request is read into an OpenAI /embeddings body,
// which is what is metered, priced and recorded, exactly as a call on
// /v1/embeddings would be; each attempt then sends it to an OpenAI-format
// upstream, or a batchEmbedContents body to a Gemini one, and answers the
// vectors in Google's shape.
func (rl *Relay) GeminiEmbed(model string, batch bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		return rl.serve(w, r, IngressGeminiEmbed, oa.OpEmbeddings, geminiCredential(r), func(c *call) (*oa.Request, error) {
			model := strings.TrimPrefix(model, "models/")
			if model == "" {
				return nil, llm.BadRequest("model", "the URL names no model; use /v1beta/models/MODEL:embedContent")
			}
			if len(model) > maxModelName {
				return nil, llm.BadRequest("model", "the model name is longer than %d characters", maxModelName)
			}
			er, err := gemini.DecodeEmbedRequest(model, c.body, batch)
			if err != nil {
				return nil, err
			}
			c.body, c.extra = er.OpenAIEmbedBody(model), er
			return oa.ScanChecked(oa.OpEmbeddings, c.body)
		})
	}
}

// attemptGeminiEmbed serves one attempt of a Gemini embedding request.
// Usage is the OpenAI upstream's; a Gemini upstream reports none, so it is
// estimated from the texts, as for any upstream that reports no usage.
func (rl *Relay) attemptGeminiEmbed(w http.ResponseWriter, r *http.Request, c *call, req *oa.Request, cd candidate, p *provider.Provider, at *attemptCtx) (int, error) {
	er := c.extra.(*gemini.EmbedRequest)
	var (
		path    string
		body    []byte
		decErr  func(int, []byte) *llm.Error
		vectors func([]byte) ([][]byte, error)
	)
	switch p.FormatFor(cd.t.Model) {
	case provider.FormatOpenAI:
		path, body, decErr, vectors = p.Path(oa.OpEmbeddings.Path(), cd.t.Model), req.UpstreamBody(c.body, cd.t.Model), decodeOpenAIError, er.OpenAIEmbeddings
	case provider.FormatGemini:
		path, body, decErr, vectors = p.Path(gemini.EmbedPath(cd.t.Model), cd.t.Model), er.GeminiEmbedBody(cd.t.Model), gemini.DecodeError, er.GeminiEmbeddings
	default:
		return 0, llm.BadRequest("model", "provider '%s' (%s) does not serve embeddings", p.Name, p.Type)
	}
	resp, status, err := rl.send(r, c, p, at, path, body, false, decErr)
	if resp == nil {
		return status, err
	}
	defer resp.Body.Close()
	at.firstByte()
	raw, err := rl.readAnswer(r, resp, p, c, at)
	if raw == nil {
		return resp.StatusCode, err
	}
	vecs, err := vectors(raw)
	if err != nil {
		return resp.StatusCode, llm.UpstreamError("provider '"+p.Name+"' returned a malformed embeddings response", err)
	}
	c.usage, c.produced = oa.ReadUsage(gjson.GetBytes(raw, "usage")), true
	rl.writeJSON(w, c, er.EncodeEmbedResponse(vecs))
	return resp.StatusCode, nil
}

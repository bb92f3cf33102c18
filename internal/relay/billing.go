package relay

import (
	"time"

	"github.com/tidwall/gjson"

	oa "github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/billing"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/routing"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// call is the state of one model call between authentication and the
// ledger record.
type call struct {
	in       Ingress
	op       oa.Op
	lreq     *llm.Request // the request in canonical form, once decoded
	start    time.Time
	key      *store.Key
	metric   string // the model label: catalogue entry id or pattern, or "PROVIDER:*"
	gen      store.Generation
	body     []byte
	price    *config.Pricing // nil: free
	res      *billing.Reservation
	usage    llm.Usage
	text     []byte // completion text, for estimating usage the upstream did not report
	produced bool   // some answer reached (or was ready for) the client
}

// cost is what the client is charged for u, and what usage.cost shows: the
// catalogue price, except that an empty completion costs nothing.
func (c *call) cost(u llm.Usage) money.Nanos {
	if c.op != oa.OpEmbeddings && u.CompletionTokens == 0 {
		return 0
	}
	return billing.Cost(u, c.price)
}

// price finds the model's price: the catalogue entry's, else the serving
// provider's default. An unpriced model is free unless the config says
// billing.unpriced: reject.
func (rl *Relay) price(res *routing.Resolution, provider string) (*config.Pricing, error) {
	if res.Entry != nil && res.Entry.Pricing != nil {
		return res.Entry.Pricing, nil
	}
	if pc, ok := rl.Config.Provider(provider); ok && pc.Pricing != nil {
		return pc.Pricing, nil
	}
	if rl.Config.Billing.Unpriced == "reject" {
		return nil, llm.Forbidden("model_not_allowed", "model '"+res.Requested+"' has no price on this gateway, and the gateway refuses unpriced models (billing.unpriced: reject)")
	}
	return nil, nil
}

// defaultMaxOutput is SPEC §4's worst case when neither the request nor the
// catalogue bounds the answer.
const defaultMaxOutput = 4096

// estimate is the request's worst-case cost, reserved before the upstream
// call. The prompt is counted as one token per two bytes of body: a cheap
// upper bound for text (English runs about four bytes a token, CJK about
// three), so that a reservation rarely falls short of the real cost.
func (rl *Relay) estimate(c *call, req *oa.Request, res *routing.Resolution) billing.Estimate {
	if c.price == nil {
		return billing.Estimate{}
	}
	prompt := int64(len(c.body)+1) / 2
	maxOut := req.MaxTokens
	if res.Entry != nil {
		if cl := int64(res.Entry.ContextLength); cl > 0 && prompt > cl {
			prompt = cl
		}
		if maxOut == 0 {
			maxOut = int64(res.Entry.MaxOutputTokens)
		}
	}
	if maxOut == 0 {
		maxOut = defaultMaxOutput
	}
	if c.op == oa.OpEmbeddings {
		maxOut = 0
	}
	pc := money.CostOf(prompt, c.price.Prompt)
	return billing.Estimate{
		Amount: pc + money.CostOf(maxOut, c.price.Completion), PromptCost: pc, PerMOutput: c.price.Completion,
		PromptTokens: prompt, MaxTokens: maxOut,
	}
}

// openAIBody is the chat request as an OpenAI body, the form the estimator
// reads: the client's own for OpenAI clients, else the canonical request
// encoded (an Anthropic or Gemini body would count as no prompt at all).
func (c *call) openAIBody() []byte {
	if c.in == IngressOpenAI {
		return c.body
	}
	if r, err := c.canonical(); err == nil {
		if b, err := oa.EncodeRequest(r); err == nil {
			return b
		}
	}
	return c.body
}

// estimateUsage counts tokens when the upstream reported none (a stream cut
// before its usage chunk, a provider that never sends usage).
func (rl *Relay) estimateUsage(c *call) llm.Usage {
	model := c.gen.UpstreamModel
	var prompt, completion int64
	if e := rl.Estimator; e != nil {
		switch c.op {
		case oa.OpChat:
			prompt = int64(e.ChatPrompt(model, c.openAIBody()))
		case oa.OpCompletions:
			prompt = int64(e.Prompt(model, []byte(gjson.GetBytes(c.body, "prompt").Raw)))
		case oa.OpEmbeddings:
			prompt = int64(e.Prompt(model, []byte(gjson.GetBytes(c.body, "input").Raw)))
		}
		completion = int64(e.Count(model, string(c.text)))
	} else {
		prompt, completion = int64(len(c.body)+3)/4, int64(len(c.text)+3)/4
	}
	return llm.Usage{PromptTokens: prompt, CompletionTokens: completion, TotalTokens: prompt + completion, Present: true, Estimated: true}
}

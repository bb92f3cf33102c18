package relay

import (
	"errors"
	"github.com/switchyard-gw/switchyard/internal/formdata"
	"math"
	"time"

	"github.com/tidwall/gjson"

	oa "github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/billing"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/ratelimit"
	"github.com/switchyard-gw/switchyard/internal/routing"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// call is the state of one model call between authentication and the
// ledger record.
type call struct {
	in     Ingress
	op     oa.Op
	lreq   *llm.Request // the request in canonical form, once decoded
	extra  any          // what the dialect's decode keeps beside lreq (Responses: the settings it echoes)
	start  time.Time
	key    *store.Key
	metric string // the model label: catalogue entry id or pattern, or "PROVIDER:*"
	gen    store.Generation
	body   []byte
	price  *config.Pricing // nil: free
	res    *billing.Reservation
	permit *ratelimit.Permit // the rate limits' hold, settled in finish
	usage  llm.Usage
	maxOut int64 // the most output tokens charged (0: no bound known); set by estimate
	// countedPrompt is the tokenizer's prompt count with its margin, once
	// reserve needed it (0: not counted).
	countedPrompt int64
	text          llm.TextSample // completion text, for estimating usage the upstream did not report
	produced      bool           // some answer reached (or was ready for) the client
	req           *oa.Request    // the scanned request
	delivered     int64          // images in the answer (OpImages), for mediaCost
	form          *formdata.Form // a multipart request's body (Op.Multipart)
	audio         audioMeter     // a transcription's metering (Op.Audio)
	abort         bool           // cut the client's connection once recorded (a broken binary answer)
}

// cost is what the client is charged for u, and what usage.cost shows: the
// catalogue price of the billable usage, except that an empty completion
// costs nothing.
func (c *call) cost(u llm.Usage) money.Nanos {
	if !c.op.Tokens() {
		return c.mediaCost(u)
	}
	if c.op != oa.OpEmbeddings && u.CompletionTokens == 0 {
		return 0
	}
	u, _ = c.billable(u)
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
// three), so that a reservation rarely falls short of the real cost. The
// output is max_tokens, capped by the model's max_output_tokens and
// context_length where the catalogue knows them (the upstream cannot
// produce more), times n. It also sets c.maxOut, the most output the
// client can be charged for (see billable).
func (rl *Relay) estimate(c *call, req *oa.Request, res *routing.Resolution) billing.Estimate {
	c.maxOut = 0
	if c.price == nil {
		return billing.Estimate{}
	}
	if !c.op.Tokens() {
		return rl.mediaEstimate(c, req, res)
	}
	prompt, maxOut, bounded := worstCase(c, req, res)
	if bounded {
		c.maxOut = maxOut
	}
	return rl.estimateFor(c, prompt, maxOut)
}

// worstCase is the most tokens a request may use, as estimate reserves
// them: the prompt at one token per two bytes of body, and the most output
// (bounded: by the request or the catalogue, not the 4096 default).
func worstCase(c *call, req *oa.Request, res *routing.Resolution) (prompt, maxOut int64, bounded bool) {
	prompt = int64(len(c.body)+1) / 2
	maxOut, bounded = req.MaxTokens, req.MaxTokens > 0
	if res.Entry != nil {
		if cl := int64(res.Entry.ContextLength); cl > 0 {
			prompt = min(prompt, cl)
			if maxOut > cl {
				maxOut = cl
			}
		}
		if mo := int64(res.Entry.MaxOutputTokens); mo > 0 && (maxOut == 0 || maxOut > mo) {
			maxOut, bounded = mo, true
		}
	}
	if maxOut == 0 {
		maxOut = defaultMaxOutput
	}
	if c.op == oa.OpEmbeddings {
		maxOut, bounded = 0, false
	}
	return prompt, satMul(maxOut, max(req.N, 1)), bounded
}

// maxCountedPrompt bounds the body that reserve tokenizes: tokenizing
// costs about a second of CPU per megabyte, and a body this large does not
// fit a small balance anyway.
const maxCountedPrompt = 256 << 10

// reserve holds the request's worst case. The prompt is first priced at
// the cheap byte bound (estimate); when that does not fit the balance, it
// is counted with the offline tokenizer (images and files at a stated
// bound, plus a quarter for tokenizers that count more than o200k) before
// refusing, so that a request that fits is admitted. The real prompt is
// charged at settle whatever was reserved, so under any concurrency the
// overspend stays within one request's settled overrun.
func (rl *Relay) reserve(c *call, req *oa.Request, res *routing.Resolution) (*billing.Reservation, error) {
	est := rl.estimate(c, req, res)
	r, err := rl.Accountant.Reserve(c.key, est)
	if err == nil || rl.Estimator == nil || !c.op.Tokens() || len(c.body) > maxCountedPrompt || !isQuota(err) {
		return r, err
	}
	if c.countedPrompt == 0 {
		var n int64
		switch c.op {
		case oa.OpChat:
			n = int64(rl.Estimator.ChatPromptBound(c.gen.UpstreamModel, c.openAIBody()))
		case oa.OpCompletions:
			n = int64(rl.Estimator.Prompt(c.gen.UpstreamModel, []byte(gjson.GetBytes(c.body, "prompt").Raw)))
		case oa.OpEmbeddings:
			n = int64(rl.Estimator.Prompt(c.gen.UpstreamModel, []byte(gjson.GetBytes(c.body, "input").Raw)))
		}
		c.countedPrompt = n + n/4 + 8
	}
	if c.countedPrompt >= est.PromptTokens {
		return nil, err
	}
	return rl.Accountant.Reserve(c.key, rl.estimateFor(c, c.countedPrompt, est.MaxTokens))
}

func isQuota(err error) bool {
	var e *llm.Error
	return errors.As(err, &e) && e.Code == "insufficient_quota"
}

// estimateFor prices prompt tokens and maxOut output tokens at c.price.
func (rl *Relay) estimateFor(c *call, prompt, maxOut int64) billing.Estimate {
	pc := money.CostOf(prompt, c.price.Prompt)
	return billing.Estimate{
		Amount: money.Add(pc, money.CostOf(maxOut, c.price.Completion)), PromptCost: pc, PerMOutput: c.price.Completion,
		PromptTokens: prompt, MaxTokens: maxOut,
	}
}

// satMul is a × b for non-negative a and b, saturating.
func satMul(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

// billable is the usage the client pays for: output an upstream reports
// beyond what the request allowed (max_tokens × n, or the catalogue's
// max_output_tokens) is recorded but not charged, so that a lying or buggy
// upstream cannot spend more than the reservation held for output.
func (c *call) billable(u llm.Usage) (_ llm.Usage, over int64) {
	if c.maxOut > 0 && u.CompletionTokens > c.maxOut {
		over = u.CompletionTokens - c.maxOut
		u.CompletionTokens = c.maxOut
		u.ReasoningTokens = min(u.ReasoningTokens, c.maxOut)
	}
	return u, over
}

// openAIBody is the chat request as an OpenAI body, the form the estimator
// reads: the client's own for OpenAI clients, else the canonical request
// encoded (an Anthropic or Gemini body would count as no prompt at all).
func (c *call) openAIBody() []byte {
	if c.in.Native == provider.FormatOpenAI {
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
		switch {
		case len(c.body) > maxCountedPrompt:
			prompt = rl.extrapolated(model, c.body)
		case c.op == oa.OpChat:
			prompt = rl.chatPromptTokens(model, c.openAIBody())
		case c.op == oa.OpCompletions:
			prompt = int64(e.Prompt(model, []byte(gjson.GetBytes(c.body, "prompt").Raw)))
		case c.op == oa.OpEmbeddings:
			prompt = int64(e.Prompt(model, []byte(gjson.GetBytes(c.body, "input").Raw)))
		}
		completion = c.text.Scale(int64(e.Count(model, string(c.text.Head))))
	} else {
		prompt, completion = int64(len(c.body)+3)/4, (c.text.Total+3)/4
	}
	return llm.Usage{PromptTokens: prompt, CompletionTokens: completion, TotalTokens: prompt + completion, Present: true, Estimated: true}
}

// chatPromptTokens counts an OpenAI chat body's prompt, bounded in CPU:
// past maxCountedPrompt bytes it extrapolates.
func (rl *Relay) chatPromptTokens(model string, body []byte) int64 {
	if len(body) > maxCountedPrompt {
		return rl.extrapolated(model, body)
	}
	return int64(rl.Estimator.ChatPrompt(model, body))
}

// extrapolated counts the first maxCountedPrompt bytes of body as text and
// scales the count to the whole: tokenizing costs about a second of CPU per
// megabyte, which no request gets for free.
func (rl *Relay) extrapolated(model string, body []byte) int64 {
	head := body[:min(len(body), maxCountedPrompt)]
	n := rl.Estimator.Count(model, string(head))
	return int64(float64(n) * float64(len(body)) / float64(len(head)))
}

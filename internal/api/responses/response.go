package responses

import (
	"strconv"

	"github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/jsonstr"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

// Options is what a Response object carries beside the canonical answer.
type Options struct {
	// Created is created_at, in Unix seconds (the caller has the clock);
	// 0 uses the answer's own Created.
	Created int64
	// Cost prices the usage for usage.cost, as on chat; nil leaves it out.
	Cost openai.CostFunc
	// Echo is the request's Extra: OpenAI repeats the request's settings
	// (instructions, tools, text, temperature…) in the Response. nil
	// renders the defaults.
	Echo *Extra
}

// itemKind is the type of one output item.
type itemKind uint8

const (
	itemMessage   itemKind = iota + 1 // "message": output_text content
	itemReasoning                     // "reasoning": a summary_text
	itemFunction                      // "function_call"
)

// item is one output item, whole or still streaming.
type item struct {
	kind  itemKind
	id    string
	index int    // output_index
	text  []byte // message text, reasoning summary, function arguments
	// signature is a thinking part's signature, sent as the reasoning
	// item's encrypted_content so that it comes back on the next turn.
	signature    string
	callID, name string
	done         bool
}

// itemID derives an output item's id from the response id and the item's
// position: deterministic, and unique within the response.
func itemID(kind itemKind, respID string, index int) string {
	prefix := "msg_"
	switch kind {
	case itemReasoning:
		prefix = "rs_"
	case itemFunction:
		prefix = "fc_"
	}
	return prefix + respID + "_" + strconv.Itoa(index)
}

// answer is a Response object's state, whole or streaming.
type answer struct {
	id, model string
	created   int64
	status    string // in_progress | completed | incomplete | failed
	reason    string // incomplete_details.reason
	err       *llm.Error
	items     []*item
	usage     *llm.Usage
}

// finishStatus maps a finish reason to the Response status and, for an
// incomplete answer, its reason.
func finishStatus(f llm.FinishReason) (status, reason string) {
	switch f {
	case llm.FinishLength:
		return "incomplete", "max_output_tokens"
	case llm.FinishContentFilter:
		return "incomplete", "content_filter"
	case llm.FinishError:
		return "failed", ""
	}
	return "completed", ""
}

// EncodeResponse renders r as a Responses API Response object: a
// reasoning item per thinking part, a message item per run of text, a
// function_call item per tool call, in the answer's order (text and
// thinking parts, then tool calls).
func EncodeResponse(r *llm.Response, o Options) []byte {
	a := answer{id: r.ID, model: r.Model, created: o.Created, usage: &r.Usage}
	if a.created == 0 {
		a.created = r.Created
	}
	a.status, a.reason = finishStatus(r.FinishReason)
	if a.status == "failed" {
		a.err = llm.UpstreamError("the upstream stopped with an error", nil)
	}
	for _, p := range r.Message.Parts {
		switch p.Type {
		case llm.PartText:
			if n := len(a.items); n > 0 && a.items[n-1].kind == itemMessage {
				a.items[n-1].text = append(a.items[n-1].text, p.Text...)
				continue
			}
			a.items = append(a.items, &item{kind: itemMessage, id: itemID(itemMessage, r.ID, len(a.items)), text: []byte(p.Text), done: true})
		case llm.PartThinking:
			a.items = append(a.items, &item{kind: itemReasoning, id: itemID(itemReasoning, r.ID, len(a.items)), text: []byte(p.Text), signature: p.Signature, done: true})
		}
		// Redacted thinking has no readable summary, and its data means
		// something only to the vendor that sent it: dropped.
	}
	for _, tc := range r.Message.ToolCalls {
		a.items = append(a.items, &item{kind: itemFunction, id: itemID(itemFunction, r.ID, len(a.items)),
			callID: tc.ID, name: tc.Name, text: []byte(tc.Arguments), done: true})
	}
	return appendResponse(make([]byte, 0, 1024), &a, &o)
}

// appendResponse writes the Response object.
func appendResponse(b []byte, a *answer, o *Options) []byte {
	x := o.Echo
	if x == nil {
		x = &Extra{}
	}
	b = append(b, `{"id":`...)
	b = jsonstr.Append(b, a.id)
	b = append(b, `,"object":"response","created_at":`...)
	b = strconv.AppendInt(b, a.created, 10)
	b = append(b, `,"status":`...)
	b = jsonstr.Append(b, a.status)
	b = append(b, `,"error":`...)
	if a.err != nil {
		b = append(b, `{"code":`...)
		b = jsonstr.Append(b, errorCode(a.err))
		b = append(b, `,"message":`...)
		b = jsonstr.Append(b, a.err.Message)
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"incomplete_details":`...)
	if a.reason != "" {
		b = append(b, `{"reason":`...)
		b = jsonstr.Append(b, a.reason)
		b = append(b, '}')
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"instructions":`...)
	if x.Instructions != nil {
		b = jsonstr.Append(b, *x.Instructions)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"max_output_tokens":`...)
	if x.MaxOutputTokens > 0 {
		b = strconv.AppendInt(b, x.MaxOutputTokens, 10)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"model":`...)
	b = jsonstr.Append(b, a.model)
	b = append(b, `,"output":[`...)
	for i, it := range a.items {
		if i > 0 {
			b = append(b, ',')
		}
		status := "completed"
		if !it.done || (it.kind == itemMessage && a.status == "incomplete") {
			status = "incomplete"
		}
		b = appendItem(b, it, status)
	}
	b = append(b, `],"parallel_tool_calls":`...)
	b = strconv.AppendBool(b, x.ParallelToolCalls == nil || *x.ParallelToolCalls)
	b = append(b, `,"previous_response_id":`...)
	if x.PreviousResponseID != "" {
		b = jsonstr.Append(b, x.PreviousResponseID)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"reasoning":`...)
	b = appendRaw(b, x.Reasoning, "null")
	if x.Store != nil {
		b = append(b, `,"store":`...)
		b = strconv.AppendBool(b, *x.Store)
	}
	b = append(b, `,"temperature":`...)
	b = appendFloat(b, x.Temperature)
	b = append(b, `,"text":`...)
	b = appendRaw(b, x.Text, `{"format":{"type":"text"}}`)
	b = append(b, `,"tool_choice":`...)
	b = appendRaw(b, x.ToolChoice, `"auto"`)
	b = append(b, `,"tools":`...)
	b = appendRaw(b, x.Tools, "[]")
	b = append(b, `,"top_p":`...)
	b = appendFloat(b, x.TopP)
	b = append(b, `,"usage":`...)
	if a.usage != nil {
		b = appendUsage(b, *a.usage, o.Cost)
	} else {
		b = append(b, "null"...)
	}
	if x.User != "" {
		b = append(b, `,"user":`...)
		b = jsonstr.Append(b, x.User)
	}
	b = append(b, `,"metadata":`...)
	b = appendRaw(b, x.Metadata, "{}")
	return append(b, '}')
}

// appendItem writes one output item with the given status.
func appendItem(b []byte, it *item, status string) []byte {
	b = append(b, `{"id":`...)
	b = jsonstr.Append(b, it.id)
	switch it.kind {
	case itemMessage:
		b = append(b, `,"type":"message","status":`...)
		b = jsonstr.Append(b, status)
		b = append(b, `,"role":"assistant","content":[`...)
		if status != "in_progress" {
			b = appendTextPart(b, it.text)
		}
		b = append(b, ']')
	case itemReasoning:
		b = append(b, `,"type":"reasoning","summary":[`...)
		if status != "in_progress" && len(it.text) > 0 {
			b = appendSummaryPart(b, it.text)
		}
		b = append(b, ']')
		if it.signature != "" {
			b = append(b, `,"encrypted_content":`...)
			b = jsonstr.Append(b, it.signature)
		}
	case itemFunction:
		b = append(b, `,"type":"function_call","status":`...)
		b = jsonstr.Append(b, status)
		b = append(b, `,"arguments":`...)
		if status == "in_progress" {
			b = append(b, `""`...)
		} else {
			b = jsonstr.Append(b, string(it.text))
		}
		b = append(b, `,"call_id":`...)
		b = jsonstr.Append(b, it.callID)
		b = append(b, `,"name":`...)
		b = jsonstr.Append(b, it.name)
	}
	return append(b, '}')
}

func appendTextPart(b, text []byte) []byte {
	b = append(b, `{"type":"output_text","text":`...)
	b = jsonstr.Append(b, string(text))
	return append(b, `,"annotations":[],"logprobs":[]}`...)
}

func appendSummaryPart(b, text []byte) []byte {
	b = append(b, `{"type":"summary_text","text":`...)
	b = jsonstr.Append(b, string(text))
	return append(b, '}')
}

// appendUsage writes a ResponseUsage; OpenAI's input_tokens include the
// cached ones, as PromptTokens does.
func appendUsage(b []byte, u llm.Usage, cost openai.CostFunc) []byte {
	total := u.TotalTokens
	if total == 0 {
		total = u.PromptTokens + u.CompletionTokens
	}
	b = append(b, `{"input_tokens":`...)
	b = strconv.AppendInt(b, u.PromptTokens, 10)
	b = append(b, `,"input_tokens_details":{"cached_tokens":`...)
	b = strconv.AppendInt(b, u.CachedTokens, 10)
	b = append(b, `,"cache_write_tokens":`...)
	b = strconv.AppendInt(b, u.CacheWriteTokens, 10)
	b = append(b, `},"output_tokens":`...)
	b = strconv.AppendInt(b, u.CompletionTokens, 10)
	b = append(b, `,"output_tokens_details":{"reasoning_tokens":`...)
	b = strconv.AppendInt(b, u.ReasoningTokens, 10)
	b = append(b, `},"total_tokens":`...)
	b = strconv.AppendInt(b, total, 10)
	if cost != nil {
		b = append(b, `,"cost":`...)
		b = cost(u).AppendJSON(b)
	}
	return append(b, '}')
}

func appendRaw(b []byte, raw []byte, def string) []byte {
	if len(raw) == 0 {
		return append(b, def...)
	}
	return append(b, raw...)
}

func appendFloat(b []byte, f *float64) []byte {
	if f == nil {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, *f, 'g', -1, 64)
}

// errorCode is a ResponseError code (a closed list in the spec) for e.
func errorCode(e *llm.Error) string {
	if e.Status == 429 {
		return "rate_limit_exceeded"
	}
	return "server_error"
}

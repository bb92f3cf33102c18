package relay

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	oa "github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/api/responses"
	"github.com/switchyard-gw/switchyard/internal/jsonstr"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/provider"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// IngressResponses is the OpenAI Responses API (POST /v1/responses), the
// dialect of the OpenAI SDKs' responses.create, Codex and the Agents SDK.
// An upstream that speaks it too serves it by passthrough
// (attemptResponsesPassthrough); any other is reached by translation.
//
// Stored responses: an answer whose request has store true or absent
// (OpenAI's default) is kept for its account (ResponseStore), readable by
// GET /responses/{id} and continued by a later request's
// previous_response_id, whose stored conversation and answer are put
// before the new input.
var IngressResponses = &Dialect{
	Name:        "responses",
	Native:      provider.FormatResponses,
	passthrough: (*Relay).attemptResponsesPassthrough,
	nativeOnly:  needsResponsesUpstream,
	prepare:     prepareResponses,
	decode:      decodeResponses,
	encodeResponse: func(c *call, resp *llm.Response, _ oa.Rewrite) ([]byte, llm.Usage) {
		out := responses.EncodeResponse(resp, responsesOptions(c))
		if rc := responsesState(c); rc.storing() && resp.FinishReason != llm.FinishError {
			// Before the answer is written: a client that continues from
			// it at once must find it (see storeTimeout).
			rc.save(c, &resp.Message, out)
		}
		return out, resp.Usage
	},
	newStream: func(c *call, req *oa.Request, _ oa.Rewrite, dec eventDecoder) streamSource {
		enc := &responses.StreamEncoder{ID: c.gen.ID, Model: req.Model, Options: responsesOptions(c)}
		rec := &recordingEncoder{enc: enc}
		if rc := responsesState(c); rc.storing() {
			// The final event (response.completed or .incomplete) carries
			// the whole answer; it is stored before that event is written.
			enc.OnFinal = func(obj []byte) { rc.save(c, &rec.msg, obj) }
		}
		return &canonicalSource{dec: dec, enc: rec, id: c.gen.ID, model: req.Model}
	},
	encodeError:    responses.EncodeError,
	keepAliveEvent: keepAliveComment,
}

// ResponseStore keeps the Responses API answers clients store, each
// scoped to its account (store.Responses).
type ResponseStore interface {
	PutResponse(ctx context.Context, r *store.StoredResponse) error
	GetResponse(ctx context.Context, accountID, id string) (*store.StoredResponse, error)
	DeleteResponse(ctx context.Context, accountID, id string) error
}

// storeTimeout bounds storing one answer. The insert runs on the request
// path, just before the answer's last bytes are written (a client may
// continue from it the moment it has them); it is one row on the write
// connection, which the ledger writer holds only for short batches. Past
// the bound the answer goes out unstored, with a warning.
const storeTimeout = 2 * time.Second

// responsesCall is what a Responses request keeps beside the canonical
// request (call.extra).
type responsesCall struct {
	rl  *Relay
	ctx context.Context
	x   *responses.Extra // set by decode
	// storeOff: the request said store: false (scanResponses checked
	// that store is a boolean).
	storeOff bool
	// prev is the stored response that previous_response_id names, nil
	// when none.
	prev    *conversation
	prevOut *llm.Message
	// conv is this request's conversation (the earlier turns included),
	// as it is stored with the answer.
	conv conversation
}

// conversation is what a stored response keeps of its request, as
// canonical JSON. System holds the system prompt the input items gave
// (system and developer messages); Instructions and Tools are kept for
// the record only: as at OpenAI, a request that continues from a stored
// response does not inherit them.
type conversation struct {
	System       []llm.Part    `json:"system,omitempty"`
	Messages     []llm.Message `json:"messages"`
	Instructions string        `json:"instructions,omitempty"`
	Tools        []llm.Tool    `json:"tools,omitempty"`
	// NativeOnly, when set, says why the request has no canonical form (a
	// built-in tool, passed through to a Responses upstream): the
	// conversation cannot be continued from the gateway's store.
	NativeOnly string `json:"native_only,omitempty"`
}

// responsesState is the call's responsesCall, made on first use (a call
// that skipped prepare continues from nothing and stores nothing).
func responsesState(c *call) *responsesCall {
	if rc, ok := c.extra.(*responsesCall); ok {
		return rc
	}
	rc := &responsesCall{}
	c.extra = rc
	return rc
}

// storing reports whether the answer is to be kept: a store is configured
// and the request did not say store: false.
func (rc *responsesCall) storing() bool {
	return rc.rl != nil && rc.rl.ResponseStore != nil && !rc.storeOff
}

// prepareResponses loads the stored response that previous_response_id
// names, for the caller's account only: absent, expired, deleted and
// another account's are the same 404.
func prepareResponses(rl *Relay, r *http.Request, c *call) error {
	// store: false is read here, not by decode: a passthrough never decodes.
	rc := &responsesCall{rl: rl, ctx: r.Context(), storeOff: gjson.GetBytes(c.body, "store").Type == gjson.False}
	c.extra = rc
	if err := resolveItemReferences(rl, r, c); err != nil {
		return err
	}
	id := gjson.GetBytes(c.body, "previous_response_id").Str // a string: scanResponses checked it
	if id == "" {
		return nil
	}
	if rl.ResponseStore == nil {
		return responseNotFound(id)
	}
	sr, err := rl.ResponseStore.GetResponse(r.Context(), c.key.AccountID, id)
	if errors.Is(err, store.ErrNotFound) {
		return responseNotFound(id)
	}
	if err != nil {
		return llm.AsError(err) // a 500; the cause is logged, not shown
	}
	var conv conversation
	var out llm.Message
	if err := json.Unmarshal(sr.Conversation, &conv); err != nil {
		return llm.AsError(err)
	}
	if err := json.Unmarshal(sr.Output, &out); err != nil {
		return llm.AsError(err)
	}
	if conv.NativeOnly != "" {
		return llm.BadRequest("previous_response_id", "response '%s' used what only a Responses upstream can run (%s), and the gateway cannot continue it from its store; send the conversation in 'input' instead", id, conv.NativeOnly)
	}
	rc.prev, rc.prevOut = &conv, &out
	// A continuation is always expanded in the canonical form (even for an
	// upstream that speaks Responses), so a body that cannot be decoded
	// (a built-in tool) is refused now, before routing.
	_, err = c.canonical()
	return err
}

// resolveItemReferences puts in place of each item_reference input item
// the output item it names, from the caller's account's stored response
// that made it, as OpenAI does: the Vercel AI SDK (store on, its default)
// sends an earlier answer back this way. Without a store the references
// are left for the decoder to refuse; an item that is not found is a 404.
func resolveItemReferences(rl *Relay, r *http.Request, c *call) error {
	refs := responses.ItemReferences(c.body)
	if len(refs) == 0 || rl.ResponseStore == nil {
		return nil
	}
	// The responses to read (one store read each), bounded before any read.
	stored := map[string][]byte{} // response id → its Response object
	for _, ref := range refs {
		respID, ok := responses.ItemResponseID(ref)
		if !ok {
			return itemNotFound(ref)
		}
		stored[respID] = nil
	}
	if len(stored) > maxReferencedResponses {
		return llm.BadRequest("input", "'input' refers to items of %d stored responses, more than %d; send the items themselves", len(stored), maxReferencedResponses)
	}
	items := make(map[string][]byte, len(refs))
	for _, ref := range refs {
		respID, _ := responses.ItemResponseID(ref)
		obj := stored[respID]
		if obj == nil {
			sr, err := rl.ResponseStore.GetResponse(r.Context(), c.key.AccountID, respID)
			if errors.Is(err, store.ErrNotFound) {
				return itemNotFound(ref)
			}
			if err != nil {
				return llm.AsError(err)
			}
			obj = sr.Response
			stored[respID] = obj
		}
		var ok bool
		if items[ref], ok = responses.OutputItem(obj, ref); !ok {
			return itemNotFound(ref)
		}
	}
	c.body = responses.ReplaceItemReferences(c.body, items)
	return nil
}

// maxReferencedResponses bounds the stored responses one request's item
// references may read (one store read each): a long agent loop refers to
// one per earlier step.
const maxReferencedResponses = 1000

func itemNotFound(id string) error {
	return llm.NotFound("no item with id '" + id + "' in a stored response of this account (it may have expired or been deleted)")
}

func responseNotFound(id string) error {
	return llm.NotFound("no stored response with id '" + id + "' for this account (it may have expired or been deleted)")
}

// decodeResponses decodes the body and, when it continues a stored
// response, puts that response's conversation and answer before its input.
func decodeResponses(c *call) (*llm.Request, error) {
	r, x, err := responses.DecodeRequest(c.body)
	if err != nil {
		return nil, err
	}
	rc := responsesState(c)
	rc.x = x
	rc.conv = continueFrom(rc.prev, rc.prevOut, r, x)
	return r, nil
}

// continueFrom puts the earlier turns (prev and its answer prevOut; none
// when prev is nil) before r's input, in r, and returns the conversation
// to store with r's answer. The system prompt is r's instructions, then
// the system messages of every turn's input; earlier instructions are not
// carried over, as at OpenAI.
func continueFrom(prev *conversation, prevOut *llm.Message, r *llm.Request, x *responses.Extra) conversation {
	var instructions []llm.Part
	inputSystem := r.System
	if x.Instructions != nil && *x.Instructions != "" && len(r.System) > 0 {
		instructions, inputSystem = r.System[:1], r.System[1:]
	}
	conv := conversation{System: inputSystem, Messages: r.Messages, Tools: r.Tools}
	if x.Instructions != nil {
		conv.Instructions = *x.Instructions
	}
	if prev == nil {
		return conv
	}
	conv.System = append(append([]llm.Part{}, prev.System...), inputSystem...)
	msgs := make([]llm.Message, 0, len(prev.Messages)+1+len(r.Messages))
	msgs = append(msgs, prev.Messages...)
	if prevOut != nil && (len(prevOut.Parts) > 0 || len(prevOut.ToolCalls) > 0) {
		out := *prevOut
		out.Role = llm.RoleAssistant
		msgs = append(msgs, out)
	}
	// A function_call_output answering a call of an earlier turn: the
	// decoder could not name its tool (Gemini needs the name).
	names := map[string]string{}
	for _, m := range msgs {
		for _, tc := range m.ToolCalls {
			names[tc.ID] = tc.Name
		}
	}
	for _, m := range r.Messages {
		if m.Role == llm.RoleTool && m.ToolName == "" {
			m.ToolName = names[m.ToolCallID]
		}
		msgs = append(msgs, m)
	}
	conv.Messages = msgs
	r.System = append(append([]llm.Part{}, instructions...), conv.System...)
	r.Messages = msgs
	return conv
}

// save stores the answer out (canonical) with obj, its Response object.
// A failure is logged: the client still gets its answer.
func (rc *responsesCall) save(c *call, out *llm.Message, obj []byte) {
	conv, err := json.Marshal(&rc.conv)
	if err == nil {
		var o []byte
		if o, err = json.Marshal(out); err == nil {
			sr := &store.StoredResponse{ID: c.gen.ID, AccountID: c.key.AccountID, KeyHash: c.key.Hash, Model: c.gen.Model,
				Conversation: conv, Output: o, Response: obj, CreatedAt: c.start}
			if days := rc.rl.Config.Storage.ResponsesRetentionDays; days > 0 {
				exp := c.start.AddDate(0, 0, days)
				sr.ExpiresAt = &exp
			}
			ctx, cancel := context.WithTimeout(context.WithoutCancel(rc.ctx), storeTimeout)
			err = rc.rl.ResponseStore.PutResponse(ctx, sr)
			cancel()
		}
	}
	if err != nil {
		rc.rl.Log.LogAttrs(rc.ctx, slog.LevelWarn, "storing the response failed; it cannot be retrieved or continued",
			slog.String("id", c.gen.ID), slog.String("error", err.Error()))
	}
}

// recordingEncoder writes a stream with enc and keeps the answer it
// carries in canonical form (msg), to be stored with it.
type recordingEncoder struct {
	enc   *responses.StreamEncoder
	msg   llm.Message
	tools map[int]int // tool call Index → its position in msg.ToolCalls
}

func (re *recordingEncoder) Event(out []byte, ev llm.StreamEvent) []byte {
	m := &re.msg
	// Strings are cloned: a decoder's may point into the SSE reader's
	// buffer, which the next event overwrites.
	switch ev.Kind {
	case llm.EventText:
		if n := len(m.Parts); n > 0 && m.Parts[n-1].Type == llm.PartText {
			m.Parts[n-1].Text += ev.Text
		} else if ev.Text != "" {
			m.Parts = append(m.Parts, llm.Part{Type: llm.PartText, Text: strings.Clone(ev.Text)})
		}
	case llm.EventThinking:
		n := len(m.Parts)
		switch {
		case ev.Data != "":
			m.Parts = append(m.Parts, llm.Part{Type: llm.PartRedactedThinking, Data: strings.Clone(ev.Data), SignatureVendor: strings.Clone(ev.SignatureVendor)})
		case n > 0 && m.Parts[n-1].Type == llm.PartThinking && m.Parts[n-1].Signature == "":
			p := &m.Parts[n-1]
			p.Text += ev.Text
			p.Signature, p.SignatureVendor = strings.Clone(ev.Signature), strings.Clone(ev.SignatureVendor)
		case ev.Text != "" || ev.Signature != "":
			m.Parts = append(m.Parts, llm.Part{Type: llm.PartThinking, Text: strings.Clone(ev.Text),
				Signature: strings.Clone(ev.Signature), SignatureVendor: strings.Clone(ev.SignatureVendor)})
		}
	case llm.EventToolCallStart, llm.EventToolCallDelta:
		if re.tools == nil {
			re.tools = map[int]int{}
		}
		i, ok := re.tools[ev.Index]
		if !ok || ev.Kind == llm.EventToolCallStart {
			i = len(m.ToolCalls)
			re.tools[ev.Index] = i
			m.ToolCalls = append(m.ToolCalls, llm.ToolCall{})
		}
		if tc := ev.ToolCall; tc != nil {
			t := &m.ToolCalls[i]
			if tc.ID != "" {
				t.ID = strings.Clone(tc.ID)
			}
			if tc.Name != "" {
				t.Name = strings.Clone(tc.Name)
			}
			if tc.Signature != "" {
				t.Signature = strings.Clone(tc.Signature)
			}
			t.Arguments += tc.Arguments
		}
	}
	return re.enc.Event(out, ev)
}

func (re *recordingEncoder) Close(out []byte) []byte { return re.enc.Close(out) }

// responsesOptions is what a Response object carries beside the answer:
// its time, usage.cost, and the request's settings, which OpenAI echoes.
func responsesOptions(c *call) responses.Options {
	return responses.Options{Created: c.start.Unix(), Cost: c.cost, Echo: responsesState(c).x}
}

// Responses serves POST /v1/responses.
func (rl *Relay) Responses(w http.ResponseWriter, r *http.Request) error {
	return rl.serve(w, r, IngressResponses, oa.OpChat, "", func(c *call) (*oa.Request, error) { return scanResponses(c.body) })
}

// scanResponses reads what routing and billing need from a Responses body.
func scanResponses(body []byte) (*oa.Request, error) {
	s, err := responses.ScanRequest(body)
	if err != nil {
		return nil, err
	}
	return &oa.Request{Op: oa.OpChat, Model: s.Model, Stream: s.Stream, MaxTokens: s.MaxOutputTokens, User: s.User, IncludeUsage: true}, nil
}

// GetResponse serves GET /responses/{id}: the stored Response object, to
// any key of the account that made it.
func (rl *Relay) GetResponse(w http.ResponseWriter, r *http.Request, id string) error {
	key, err := rl.Authenticate(r)
	if err != nil {
		return err
	}
	if rl.ResponseStore == nil {
		return responseNotFound(id)
	}
	sr, err := rl.ResponseStore.GetResponse(r.Context(), key.AccountID, id)
	if errors.Is(err, store.ErrNotFound) {
		return responseNotFound(id)
	}
	if err != nil {
		return llm.AsError(err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(sr.Response)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(sr.Response)
	return nil
}

// DeleteResponse serves DELETE /responses/{id}, for any key of the account
// that made it.
func (rl *Relay) DeleteResponse(w http.ResponseWriter, r *http.Request, id string) error {
	key, err := rl.Authenticate(r)
	if err != nil {
		return err
	}
	if rl.ResponseStore == nil {
		return responseNotFound(id)
	}
	err = rl.ResponseStore.DeleteResponse(r.Context(), key.AccountID, id)
	if errors.Is(err, store.ErrNotFound) {
		return responseNotFound(id)
	}
	if err != nil {
		return llm.AsError(err)
	}
	// The shape of OpenAI's API reference (openai-openapi.yml's example).
	b := append([]byte(`{"id":`), jsonstr.Append(nil, id)...)
	b = append(b, `,"object":"response","deleted":true}`...)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return nil
}

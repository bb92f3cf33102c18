package openai

import (
	"bytes"
	"errors"
	"strconv"

	"github.com/switchyard-gw/switchyard/internal/jsonscan"
	"github.com/switchyard-gw/switchyard/internal/jsonstr"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// ErrMalformedChunk is returned for a stream event that is not JSON.
var ErrMalformedChunk = errors.New("upstream sent a malformed stream chunk")

// UpstreamStreamError is an error object the upstream sent inside its stream.
type UpstreamStreamError struct{ Message string }

func (e *UpstreamStreamError) Error() string { return "upstream stream error: " + e.Message }

// Stream rewrites an OpenAI-format SSE stream chunk by chunk, passing bytes
// through except for "id", "model" and usage.
//
// The gateway always asks the upstream for usage. A client that did not ask
// for it (stream_options.include_usage) must never see a chunk with an empty
// "choices" array (code such as chunk.choices[0].delta.content would crash),
// so for such a client the chunk carrying finish_reason is held back until
// the usage-only chunk (or [DONE]) arrives, and the usage is merged into it.
type Stream struct {
	Rewrite
	Op               Op
	Created          int64
	ClientWantsUsage bool
	// CollectText gathers the answer's text in Text, so that usage can be
	// estimated if the upstream never reports it.
	CollectText bool
	Text        llm.TextSample

	Usage        llm.Usage
	FinishReason string
	Done         bool // the upstream sent [DONE]
	Chunks       int  // chunks relayed to the client
	held         []byte
	// idJSON and modelJSON are ID and Model as JSON strings, written once
	// and spliced into every chunk.
	idJSON, modelJSON []byte
	// prefix is the leading members of the last chunk read whole that
	// Event needs nothing from but their edits (the id, the model and the
	// members it skips: everything before choices, usage or error), and
	// prefixEdits those edits. Chunks of one stream repeat them byte for
	// byte, so a chunk that starts with prefix is walked from its end.
	prefix      []byte
	prefixEdits edits
	// shape is the last plain chunk, which a chunk that differs from it
	// only in its free strings matches without a walk (matchShape).
	shape shape
	// walkAll turns off the prefix and the shape (tests compare with it).
	walkAll bool
}

// maxHoles bounds the free strings of a chunk shape.
const maxHoles = 8

// shape is what Event keeps of the last plain chunk (one that only adds
// text: choices without a finish_reason, no usage, no error), so that the
// next one need not be walked: its bytes, its free strings (holes: the
// string values the walk does not read, or reads only as the answer's
// text), and its edits (id, model), none inside a hole. A chunk whose
// bytes equal it outside the holes, with a valid JSON string in each, is a
// valid JSON object with the same members and values but for those
// strings: the same plain chunk with other text.
type shape struct {
	b     []byte
	holes [maxHoles]hole
	n     int
	e     edits
	// after[k] is how many holes precede edit k.
	after [len(edits{}.list)]int
	known bool
}

// hole is a free string of a chunk: its span, quotes included, and
// whether its text is the answer's (Stream.Text).
type hole struct {
	start, end int
	text       bool
}

var (
	dataPrefix = []byte("data: ")
	eventEnd   = []byte("\n\n")
	doneEvent  = []byte("data: [DONE]\n\n")
)

// appendEvent frames payload as one SSE event. An upstream may spread one
// event's JSON over several "data:" lines, which the reader joins with '\n';
// forwarded as is, a blank line inside would end the event early. Payloads
// here are validated JSON, where a raw newline can only be insignificant
// whitespace (JSON strings cannot hold one), so dropping it is safe.
func appendEvent(out, payload []byte) []byte {
	out = append(out, dataPrefix...)
	if bytes.IndexByte(payload, '\n') < 0 && bytes.IndexByte(payload, '\r') < 0 {
		out = append(out, payload...)
	} else {
		for _, c := range payload {
			if c != '\n' && c != '\r' {
				out = append(out, c)
			}
		}
	}
	return append(out, eventEnd...)
}

// Event handles one upstream "data:" payload and appends the SSE events the
// client should receive to out. It returns ErrMalformedChunk or an
// *UpstreamStreamError when the stream cannot go on.
func (s *Stream) Event(out, payload []byte) ([]byte, error) {
	if string(payload) == "[DONE]" {
		s.Done = true
		return s.Finish(out), nil
	}
	if s.idJSON == nil {
		// Both in one allocation (room for the quotes and a few escapes);
		// idJSON's capacity is cut so that nothing appends over modelJSON.
		b := jsonstr.Append(make([]byte, 0, len(s.ID)+len(s.Model)+16), s.ID)
		s.idJSON = b[:len(b):len(b)]
		if s.Model != "" {
			s.modelJSON = jsonstr.Append(b[len(b):], s.Model)
		}
	}
	if out, ok := s.matchShape(out, payload); ok {
		return out, nil
	}
	// One validating pass over the chunk: the fields below are read on the
	// way, everything else is only checked and passes through as it is.
	// It starts after the stream's repeated prefix when the chunk has it.
	sc := chunkScan{choices: -1, b: payload}
	resumed := !s.walkAll && len(s.prefix) > 0 && bytes.HasPrefix(payload, s.prefix)
	prefixEnd, lastEnd := -1, 0
	if resumed {
		lastEnd = len(s.prefix)
	}
	member := func(key []byte) {
		if prefixEnd < 0 {
			switch string(key) {
			case "choices", "usage", "error":
				prefixEnd = lastEnd
			}
		}
		sc.memberStart = lastEnd
		s.member(&sc, key)
		lastEnd = sc.it.Pos()
	}
	isObject := true
	if resumed {
		sc.e = s.prefixEdits
		sc.it = jsonscan.ResumeObject(payload, len(s.prefix))
		sc.it.Members(member)
	} else {
		sc.it = jsonscan.NewIter(payload)
		isObject = sc.it.Object(member)
	}
	if !isObject || sc.it.End() != nil {
		return out, ErrMalformedChunk
	}
	if !resumed && prefixEnd > 0 {
		s.learnPrefix(payload[:prefixEnd], &sc.e)
	}
	s.learnShape(&sc)
	return s.emit(out, payload, &sc)
}

// matchShape handles payload without a walk if it is the plain chunk of
// s.shape with other strings in its holes; ok is false if it is not.
func (s *Stream) matchShape(out, payload []byte) (_ []byte, ok bool) {
	sh := &s.shape
	if !sh.known { // never learned under walkAll
		return out, false
	}
	var spans [maxHoles][2]int
	p, t := 0, 0 // where payload and sh.b are matched to
	for k, h := range sh.holes[:sh.n] {
		lit := sh.b[t:h.start]
		if len(payload)-p <= len(lit) || string(payload[p:p+len(lit)]) != string(lit) {
			return out, false
		}
		p += len(lit)
		end, err := jsonscan.ScanString(payload, p)
		if err != nil {
			return out, false
		}
		spans[k] = [2]int{p, end}
		p, t = end, h.end
	}
	if string(payload[p:]) != string(sh.b[t:]) {
		return out, false
	}
	for k, h := range sh.holes[:sh.n] {
		if h.text {
			s.addText(payload[spans[k][0]+1 : spans[k][1]-1])
		}
	}
	// The edits, moved by how much the holes before each grew or shrank.
	e := sh.e
	for k := range e.list[:e.n] {
		if h := sh.after[k]; h > 0 {
			d := spans[h-1][1] - sh.holes[h-1].end
			e.list[k].start += d
			e.list[k].end += d
		}
	}
	s.Chunks++
	out = append(out, dataPrefix...)
	out = e.applyTo(out, payload)
	return append(out, eventEnd...), true
}

// learnShape keeps the chunk sc walked as the stream's shape if it is a
// plain chunk on one line.
func (s *Stream) learnShape(sc *chunkScan) {
	if s.walkAll || sc.upstreamErr != nil || sc.hasUsage || sc.hasFinish || sc.choices < 1 || sc.nh > maxHoles ||
		bytes.IndexByte(sc.b, '\n') >= 0 || bytes.IndexByte(sc.b, '\r') >= 0 {
		return
	}
	sh := &s.shape
	for k, x := range sc.e.list[:sc.e.n] {
		h := 0
		for h < sc.nh && sc.holes[h].start < x.start {
			if sc.holes[h].end > x.start {
				sh.known = false // an edit inside a hole: none is, but never trust it
				return
			}
			h++
		}
		sh.after[k] = h
	}
	sh.b = append(sh.b[:0], sc.b...)
	sh.holes, sh.n, sh.e, sh.known = sc.holes, sc.nh, sc.e, true
}

// chunkScan is what the walk of one chunk found.
type chunkScan struct {
	it          jsonscan.Iter
	b           []byte // the chunk
	e           edits  // to the chunk's bytes: id, model, usage.cost
	choices     int    // how many; -1: no "choices"
	hasFinish   bool   // a choice has a finish_reason
	hasUsage    bool
	upstreamErr *UpstreamStreamError
	holes       [maxHoles]hole // the chunk's free strings, in order
	nh          int            // how many were found (past maxHoles: too many for a shape)
	memberStart int            // where the member being read begins: the previous one's end, 0 for the first
}

// skipFree skips the value at the cursor, which the stream does not read:
// a string there is a hole of the chunk's shape.
func (sc *chunkScan) skipFree() {
	if kind, start, end := sc.it.Skip(); kind == jsonscan.String {
		sc.free(start, end, false)
	}
}

func (sc *chunkScan) free(start, end int, text bool) {
	if sc.nh < maxHoles {
		sc.holes[sc.nh] = hole{start, end, text}
	}
	sc.nh++
}

// learnPrefix keeps prefix, the leading members of a valid chunk, and the
// edits that fall in it.
func (s *Stream) learnPrefix(prefix []byte, e *edits) {
	s.prefix = append(s.prefix[:0], prefix...)
	s.prefixEdits = edits{}
	for _, x := range e.list[:e.n] {
		if x.end <= len(prefix) {
			s.prefixEdits.add(x.start, x.end, x.with)
		}
	}
}

// member reads the top-level member key of a chunk, at sc's cursor.
func (s *Stream) member(sc *chunkScan, key []byte) {
	it, payload := &sc.it, sc.b
	switch string(key) {
	case "id":
		_, start, end := it.Skip()
		sc.e.add(start, end, s.idJSON)
	case "model":
		_, start, end := it.Skip()
		if s.modelJSON != nil {
			sc.e.add(start, end, s.modelJSON)
		}
	case "choices":
		sc.choices = 0
		it.Array(func() {
			sc.choices++
			if s.readChoice(sc) {
				sc.hasFinish = true
			}
		})
	case "usage":
		kind, start, end := it.Skip()
		if kind == jsonscan.Null && !s.ClientWantsUsage && sc.memberStart > 0 {
			// The gateway asked the upstream for usage; OpenAI sends a
			// client that did not ask no "usage" member at all. The span
			// from the previous member's end is the comma, the key and
			// null: dropped, the object stays valid. (As the first member
			// it is kept: rare, and harmless.)
			sc.e.add(sc.memberStart, end, nil)
		}
		if kind == jsonscan.Object {
			v := gjson.ParseBytes(payload[start:end])
			sc.hasUsage = true
			s.Usage = ReadUsage(v)
			if s.Cost != nil {
				sc.e.add(start, end, withCost(v.Raw, s.Cost(s.Usage)))
			}
		}
	case "error":
		kind, start, end := it.Skip()
		if kind != jsonscan.Null {
			v := gjson.ParseBytes(payload[start:end])
			msg := v.Get("message").String()
			if msg == "" {
				msg = string(payload[start:end])
			}
			sc.upstreamErr = &UpstreamStreamError{Message: msg}
		}
	default:
		sc.skipFree()
	}
}

// emit appends to out what the client receives for a chunk, by what its
// walk found.
func (s *Stream) emit(out, payload []byte, sc *chunkScan) ([]byte, error) {
	if sc.upstreamErr != nil {
		return out, sc.upstreamErr
	}
	e, choices, hasFinish, hasUsage := &sc.e, sc.choices, sc.hasFinish, sc.hasUsage
	if s.ClientWantsUsage || (choices != 0 && !hasFinish) {
		// The common case: the chunk goes out now, edited straight into out.
		s.Chunks++
		if bytes.IndexByte(payload, '\n') >= 0 || bytes.IndexByte(payload, '\r') >= 0 {
			return appendEvent(out, e.apply(payload)), nil
		}
		out = append(out, dataPrefix...)
		out = e.applyTo(out, payload)
		return append(out, eventEnd...), nil
	}
	chunk := e.apply(payload)
	if !s.ClientWantsUsage {
		if choices == 0 {
			// A usage-only chunk (or an empty one, as Azure sends first):
			// never shown to this client; its usage rides on the held chunk.
			if hasUsage && s.held != nil {
				s.held = mergeUsage(s.held, s.usageWithCost())
				out = appendEvent(out, s.held)
				s.held = nil
				s.Chunks++
			}
			return out, nil
		}
		if hasFinish && !hasUsage {
			if s.held != nil {
				out = appendEvent(out, s.held)
				s.Chunks++
			}
			s.held = append(s.held[:0:0], chunk...)
			return out, nil
		}
	}
	s.Chunks++
	return appendEvent(out, chunk), nil
}

// Finish appends what is still held and the final [DONE].
func (s *Stream) Finish(out []byte) []byte {
	if s.held != nil {
		if s.Usage.Present {
			s.held = mergeUsage(s.held, s.usageWithCost())
		}
		out = appendEvent(out, s.held)
		s.held = nil
		s.Chunks++
	}
	return append(out, doneEvent...)
}

// Complete reports whether the upstream finished the answer (a finish_reason
// was seen), even if it closed without [DONE].
func (s *Stream) Complete() bool { return s.Done || s.FinishReason != "" }

// Fail appends the error chunk that ends a stream which broke after its first
// byte (no silent truncation), then [DONE].
func (s *Stream) Fail(out []byte, e *llm.Error) []byte { return s.End(out, "error", e) }

// End ends the client's stream early with a final chunk whose
// finish_reason is reason (and, when e is set, an "error" object), then
// [DONE]: "error" when the upstream failed, "length" when the gateway cut
// an answer that ran past what the request reserved.
func (s *Stream) End(out []byte, reason string, e *llm.Error) []byte {
	if s.held != nil { // the answer was complete; only the trailer was lost
		return s.Finish(out)
	}
	b := make([]byte, 0, 256)
	b = append(b, `{"id":`...)
	b = jsonstr.Append(b, s.ID)
	if s.Op == OpCompletions {
		b = append(b, `,"object":"text_completion","created":`...)
	} else {
		b = append(b, `,"object":"chat.completion.chunk","created":`...)
	}
	b = strconv.AppendInt(b, s.Created, 10)
	b = append(b, `,"model":`...)
	b = jsonstr.Append(b, s.Model)
	if s.Op == OpCompletions {
		b = append(b, `,"choices":[{"index":0,"text":"","logprobs":null,"finish_reason":`...)
	} else {
		b = append(b, `,"choices":[{"index":0,"delta":{},"finish_reason":`...)
	}
	b = jsonstr.Append(b, reason)
	b = append(b, "}]"...)
	if s.Usage.Present {
		b = append(b, `,"usage":`...)
		b = append(b, s.usageWithCost()...)
	}
	if e != nil {
		b = append(b, `,"error":`...)
		b = AppendErrorObject(b, e)
	}
	b = append(b, '}')
	s.FinishReason = reason
	return append(appendEvent(out, b), doneEvent...)
}

func (s *Stream) usageWithCost() []byte {
	u := s.Usage
	b := make([]byte, 0, 128)
	b = append(b, `{"prompt_tokens":`...)
	b = strconv.AppendInt(b, u.PromptTokens, 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, u.CompletionTokens, 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, u.TotalTokens, 10)
	if u.CachedTokens > 0 {
		b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
		b = strconv.AppendInt(b, u.CachedTokens, 10)
		b = append(b, '}')
	}
	if u.ReasoningTokens > 0 {
		b = append(b, `,"completion_tokens_details":{"reasoning_tokens":`...)
		b = strconv.AppendInt(b, u.ReasoningTokens, 10)
		b = append(b, '}')
	}
	if s.Cost != nil {
		b = append(b, `,"cost":`...)
		b = s.Cost(u).AppendJSON(b)
	}
	return append(b, '}')
}

// mergeUsage sets chunk's top-level "usage" to usage.
func mergeUsage(chunk, usage []byte) []byte {
	if u := gjson.GetBytes(chunk, "usage"); u.Exists() {
		var e edits
		e.add(u.Index, u.Index+len(u.Raw), usage)
		return e.apply(chunk)
	}
	end := len(chunk) - 1
	for end >= 0 && chunk[end] != '}' {
		end--
	}
	if end < 0 {
		return chunk
	}
	out := make([]byte, 0, len(chunk)+len(usage)+10)
	out = append(out, chunk[:end]...)
	out = append(out, `,"usage":`...)
	out = append(out, usage...)
	return append(out, chunk[end:]...)
}

// readChoice reads the choice at sc's cursor: its finish_reason (true
// when it has one) and, with CollectText, the text it adds.
func (s *Stream) readChoice(sc *chunkScan) (finished bool) {
	it := &sc.it
	it.Object(func(key []byte) {
		switch {
		case string(key) == "finish_reason":
			kind, start, end := it.Skip()
			if kind == jsonscan.String && end-start > 2 {
				finished = true
				s.FinishReason = ownFinishReason(sc.b[start+1 : end-1])
			}
		case string(key) == "delta" && s.CollectText:
			s.collectDelta(sc)
		case string(key) == "text" && s.CollectText:
			s.readText(sc)
		default:
			sc.skipFree()
		}
	})
	return finished
}

// collectDelta appends the text of the chat delta object at sc's cursor:
// content, reasoning and tool-call arguments (function.arguments of each
// tool call).
func (s *Stream) collectDelta(sc *chunkScan) {
	it := &sc.it
	it.Object(func(key []byte) {
		switch string(key) {
		case "content", "reasoning_content", "reasoning":
			s.readText(sc)
		case "tool_calls":
			it.Array(func() {
				it.Object(func(key []byte) {
					if string(key) != "function" {
						sc.skipFree()
						return
					}
					it.Object(func(key []byte) {
						if string(key) == "arguments" {
							s.readText(sc)
						} else {
							sc.skipFree()
						}
					})
				})
			})
		default:
			sc.skipFree()
		}
	})
}

// readText skips the value at sc's cursor and, if it is a string, adds its
// text to s.Text.
func (s *Stream) readText(sc *chunkScan) {
	if kind, start, end := sc.it.Skip(); kind == jsonscan.String {
		sc.free(start, end, true)
		s.addText(sc.b[start+1 : end-1])
	}
}

// addText adds raw, a JSON string's contents, to the answer's text.
func (s *Stream) addText(raw []byte) {
	if len(s.Text.Head) >= llm.MaxTextSample {
		s.Text.Total += int64(len(raw)) // counted, not kept (escapes make it an upper bound)
		return
	}
	n := len(s.Text.Head)
	s.Text.Head = jsonscan.AppendUnescaped(s.Text.Head, raw)
	s.Text.Total += int64(len(s.Text.Head) - n)
}

// ownFinishReason returns the finish reason in raw (a JSON string's contents)
// as a string of its own: the common values without allocating, others
// copied, since raw lies in a buffer the next chunk overwrites.
func ownFinishReason(raw []byte) string {
	switch string(raw) {
	case "stop":
		return "stop"
	case "length":
		return "length"
	case "tool_calls":
		return "tool_calls"
	case "content_filter":
		return "content_filter"
	case "function_call":
		return "function_call"
	}
	return string(jsonscan.AppendUnescaped(nil, raw))
}

// Package openai is the OpenAI client dialect: it reads just enough of an
// OpenAI-format request to route and meter it, rewrites it for an
// OpenAI-compatible upstream by splicing bytes (never decode + re-encode), and
// rewrites responses and stream chunks on their way back.
//
// It is pure: no I/O, clock or randomness; ids are passed in.
package openai

import (
	"cmp"
	"errors"
	"unicode/utf8"
	"unsafe"

	"github.com/switchyard-gw/switchyard/internal/jsonscan"

	"github.com/switchyard-gw/switchyard/internal/jsonstr"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// maxModelName bounds a model name: real ids are under a hundred characters.
const maxModelName = 512

// MaxDepth is the nesting bound a decoder applies on its own: the most an
// operator may configure (server.max_json_depth), so that a body the
// relay's configured check accepted is never refused by a decoder.
const MaxDepth = 10000

// MaxChoices bounds "n" (OpenAI's own limit is 128).
const MaxChoices = 128

// Op is an OpenAI operation with a JSON body.
type Op uint8

const (
	OpChat Op = iota + 1
	OpCompletions
	OpEmbeddings
	OpImages      // POST /images/generations
	OpModerations // POST /moderations
	OpRerank      // POST /rerank (the Cohere/Jina shape)
	OpSpeech      // POST /audio/speech: the answer is audio bytes
	// The multipart operations: their bodies are forms (package formdata),
	// never scanned as JSON.
	OpImageEdits     // POST /images/edits
	OpTranscriptions // POST /audio/transcriptions
	OpTranslations   // POST /audio/translations
)

// Path is the operation's path below the base URL.
func (o Op) Path() string { return o.spec().path }

// Binary reports whether the operation answers bytes (audio), not JSON.
func (o Op) Binary() bool { return o.spec().binary }

// Multipart reports whether the operation's body is multipart/form-data.
func (o Op) Multipart() bool { return o.spec().multipart }

// Audio reports whether the operation is priced by seconds of audio in.
func (o Op) Audio() bool { return o == OpTranscriptions || o == OpTranslations }

// Tokens reports whether the operation is priced by tokens alone (chat,
// completions, embeddings); the others have per-unit prices (per image,
// per request, per search unit) beside any tokens their upstream reports.
func (o Op) Tokens() bool { return o.spec().tokens }

// opSpec is what differs between operations, as data.
type opSpec struct {
	path string
	// need is the body field the operation cannot do without, and the
	// message refusing a body without it.
	need, needMsg string
	// noStream: the operation has no streamed form.
	noStream bool
	// maxN bounds "n" (0: MaxChoices).
	maxN      int64
	tokens    bool
	binary    bool
	multipart bool
}

var opSpecs = [...]opSpec{
	OpChat:        {path: "/chat/completions", need: "messages", needMsg: "you must provide a 'messages' array, such as [{\"role\": \"user\", \"content\": \"Hello\"}]", tokens: true},
	OpCompletions: {path: "/completions", need: "prompt", needMsg: "you must provide a 'prompt'", tokens: true},
	OpEmbeddings:  {path: "/embeddings", need: "input", needMsg: "you must provide an 'input' to embed", noStream: true, tokens: true},
	OpImages:      {path: "/images/generations", need: "prompt", needMsg: "you must provide a 'prompt' describing the image", noStream: true, maxN: MaxImages},
	OpModerations: {path: "/moderations", need: "input", needMsg: "you must provide an 'input' to classify", noStream: true},
	OpRerank:      {path: "/rerank", need: "documents", needMsg: "you must provide a 'query' and a non-empty 'documents' array", noStream: true},
	OpSpeech:      {path: "/audio/speech", need: "input", needMsg: "you must provide the 'input' text to speak", noStream: true, binary: true},
	// need is the file part; needMsg the refusal of a form without it.
	OpImageEdits:     {path: "/images/edits", need: "image", needMsg: "you must provide the 'image' to edit as a file part (image or image[])", noStream: true, maxN: MaxImages, multipart: true},
	OpTranscriptions: {path: "/audio/transcriptions", need: "file", needMsg: "you must provide the audio as the file part 'file'", noStream: true, multipart: true},
	OpTranslations:   {path: "/audio/translations", need: "file", needMsg: "you must provide the audio as the file part 'file'", noStream: true, multipart: true},
}

// NeedFile is the form name of the file part a multipart operation cannot
// do without, and the message refusing a form without it.
func (o Op) NeedFile() (name, msg string) { return o.spec().need, o.spec().needMsg }

// MaxN bounds the operation's "n".
func (o Op) MaxN() int64 { return cmp.Or(o.spec().maxN, MaxChoices) }

// MaxSpeechChars bounds a speech request's input (OpenAI's own limit).
const MaxSpeechChars = 4096

func (o Op) spec() opSpec {
	if int(o) < len(opSpecs) {
		return opSpecs[o]
	}
	return opSpec{}
}

// MaxImages bounds an image request's "n" (OpenAI's own limit is 10).
const MaxImages = 10

// MaxRerankDocuments bounds a rerank request's documents.
const MaxRerankDocuments = 10000

// span is a byte range [start,end) of a raw JSON value inside the body.
type span struct{ start, end int }

func (s span) ok() bool { return s.end > s.start }

// Request is what the gateway needs to know of a client request. Offsets
// point into the body it was scanned from.
type Request struct {
	Op           Op
	Model        string
	Stream       bool
	IncludeUsage bool  // stream_options.include_usage was true
	MaxTokens    int64 // max_completion_tokens, else max_tokens; 0 if absent
	// N is how many answers the request asks for (OpenAI "n", Gemini
	// candidateCount): each may run to MaxTokens. 0 if absent (one).
	N         int64
	User      string
	SessionID string // not from the body: the relay sets it from X-Session-Id
	// Models and Provider are OpenRouter's routing fields: fallback model
	// names and the raw "provider" preferences object. They are for the
	// gateway and are removed from the body sent upstream (OpenAI refuses
	// arguments it does not know).
	// Size and Quality are an image request's; Documents is how many
	// documents a rerank request ranks; Chars how many characters a speech
	// request speaks.
	Size, Quality       string
	Documents, Chars    int64
	Models              []string
	Provider            []byte
	strip               bool // "models" or "provider" present: removed upstream
	model               span
	streamOptions       span
	streamOptionsIsNull bool
	open                int // offset of the top-level '{'
}

// bytesToString views b as a string without copying; the body is never
// mutated while a Request scanned from it is in use.
func bytesToString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// CheckBody is the guard every client body passes before any parser sees
// it (whatever the dialect): one JSON value, nested at most maxDepth levels
// (jsonscan.DefaultMaxDepth if <= 0), with no object holding a key twice
// (the gateway would meter one value and the upstream serve the other).
func CheckBody(body []byte, maxDepth int) error {
	err := jsonscan.Check(body, jsonscan.Options{MaxDepth: maxDepth, UniqueKeys: true})
	if err == nil {
		return nil
	}
	var dup *jsonscan.DuplicateKeyError
	switch {
	case errors.As(err, &dup):
		return llm.BadRequest(Clip(dup.Key, 64), "request body has the key %q twice in one object; send each key once", Clip(dup.Key, 64))
	case errors.Is(err, jsonscan.ErrDepth):
		if maxDepth <= 0 {
			maxDepth = jsonscan.DefaultMaxDepth
		}
		return llm.BadRequest("", "request body nests arrays and objects more than %d levels deep", maxDepth)
	}
	return llm.BadRequest("", "request body is not valid JSON; send a JSON object with Content-Type: application/json")
}

// Clip cuts s to at most n bytes at a UTF-8 boundary, marking the cut.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// ScanRequest checks body (CheckBody, default depth) and reads the
// top-level fields the gateway needs, checking their types. Everything else
// is left untouched.
func ScanRequest(op Op, body []byte) (*Request, error) {
	if err := CheckBody(body, 0); err != nil {
		return nil, err
	}
	return ScanChecked(op, body)
}

// ScanChecked is ScanRequest for a body that already passed CheckBody.
func ScanChecked(op Op, body []byte) (*Request, error) {
	s := bytesToString(body)
	root := gjson.Parse(s)
	if !root.IsObject() {
		return nil, llm.BadRequest("", "request body must be a JSON object")
	}
	r := &Request{Op: op, open: root.Index}
	var bad *llm.Error
	seenMessages, seenPrompt, seenInput, seenQuery := false, false, false, false
	root.ForEach(func(key, v gjson.Result) bool {
		switch key.Str {
		case "model":
			if v.Type != gjson.String {
				bad = llm.BadRequest("model", "'model' must be a string, such as \"gpt-4o\"")
				return false
			}
			if len(v.Str) > maxModelName {
				bad = llm.BadRequest("model", "'model' is longer than %d characters; use a model id such as \"gpt-4o\"", maxModelName)
				return false
			}
			r.Model = v.Str
			r.model = span{v.Index, v.Index + len(v.Raw)}
		case "stream":
			switch v.Type {
			case gjson.True:
				r.Stream = true
			case gjson.False, gjson.Null:
			default:
				bad = llm.BadRequest("stream", "'stream' must be a boolean")
				return false
			}
		case "stream_options":
			switch {
			case v.Type == gjson.Null:
				r.streamOptionsIsNull = true
			case v.IsObject():
			default:
				bad = llm.BadRequest("stream_options", "'stream_options' must be an object")
				return false
			}
			r.streamOptions = span{v.Index, v.Index + len(v.Raw)}
			r.IncludeUsage = v.Get("include_usage").Type == gjson.True
		case "max_tokens", "max_completion_tokens":
			if v.Type == gjson.Null {
				return true
			}
			if v.Type != gjson.Number || v.Num < 0 || v.Num != float64(int64(v.Num)) {
				bad = llm.BadRequest(key.Str, "'%s' must be a non-negative integer", key.Str)
				return false
			}
			if key.Str == "max_completion_tokens" || r.MaxTokens == 0 {
				r.MaxTokens = int64(v.Num)
			}
		case "n":
			if v.Type == gjson.Null {
				return true
			}
			maxN := op.MaxN()
			if v.Type != gjson.Number || v.Num < 1 || v.Num > float64(maxN) || v.Num != float64(int64(v.Num)) {
				bad = llm.BadRequest("n", "'n' must be an integer from 1 to %d", maxN)
				return false
			}
			r.N = int64(v.Num)
		case "messages":
			if !v.IsArray() {
				bad = llm.BadRequest("messages", "'messages' must be an array of {\"role\", \"content\"} objects")
				return false
			}
			seenMessages = len(v.Array()) > 0
			if !seenMessages {
				bad = llm.BadRequest("messages", "'messages' must contain at least one message")
				return false
			}
		case "prompt":
			seenPrompt = v.Type != gjson.Null
			if op == OpImages && (v.Type != gjson.String || v.Str == "") {
				bad = llm.BadRequest("prompt", "'prompt' must be a non-empty string describing the image")
				return false
			}
		case "size", "quality":
			if op != OpImages || v.Type == gjson.Null {
				return true
			}
			if v.Type != gjson.String || len(v.Str) > 64 {
				bad = llm.BadRequest(key.Str, "'%s' must be a string, such as \"1024x1024\" or \"high\"", key.Str)
				return false
			}
			if key.Str == "size" {
				r.Size = v.Str
			} else {
				r.Quality = v.Str
			}
		case "query":
			if op == OpRerank {
				if v.Type != gjson.String || v.Str == "" {
					bad = llm.BadRequest("query", "'query' must be a non-empty string")
					return false
				}
				seenQuery = true
			}
		case "documents":
			if op != OpRerank {
				return true
			}
			if !v.IsArray() {
				bad = llm.BadRequest("documents", "'documents' must be an array of strings or {\"text\"} objects")
				return false
			}
			n := 0
			v.ForEach(func(_, d gjson.Result) bool {
				n++
				if d.Type != gjson.String && !d.IsObject() {
					bad = llm.BadRequest("documents", "'documents' must be an array of strings or {\"text\"} objects")
				}
				return bad == nil && n <= MaxRerankDocuments
			})
			if bad != nil {
				return false
			}
			if n > MaxRerankDocuments {
				bad = llm.BadRequest("documents", "'documents' holds more than %d documents", MaxRerankDocuments)
				return false
			}
			r.Documents = int64(n)
		case "top_n":
			if op != OpRerank || v.Type == gjson.Null {
				return true
			}
			if v.Type != gjson.Number || v.Num < 1 || v.Num != float64(int64(v.Num)) {
				bad = llm.BadRequest("top_n", "'top_n' must be a positive integer")
				return false
			}
		case "input":
			seenInput = v.Type != gjson.Null
			if op == OpSpeech {
				if v.Type != gjson.String || v.Str == "" {
					bad = llm.BadRequest("input", "'input' must be the non-empty text to speak")
					return false
				}
				if r.Chars = int64(utf8.RuneCountInString(v.Str)); r.Chars > MaxSpeechChars {
					bad = llm.BadRequest("input", "'input' is longer than %d characters", MaxSpeechChars)
					return false
				}
			}
		case "user":
			if v.Type == gjson.String {
				r.User = v.Str
			}
		case "models":
			if v.Type == gjson.Null {
				r.strip = true
				return true
			}
			if !v.IsArray() {
				bad = llm.BadRequest("models", "'models' must be an array of model names to fall back to")
				return false
			}
			for _, m := range v.Array() {
				if m.Type != gjson.String {
					bad = llm.BadRequest("models", "'models' must be an array of model names to fall back to")
					return false
				}
				r.Models = append(r.Models, m.Str)
			}
			r.strip = true
		case "provider":
			if v.Type != gjson.Null && !v.IsObject() {
				bad = llm.BadRequest("provider", "'provider' must be an object of routing preferences (order, only, ignore, allow_fallbacks, sort)")
				return false
			}
			if v.IsObject() {
				r.Provider = []byte(v.Raw)
			}
			r.strip = true
		}
		return true
	})
	if bad != nil {
		return nil, bad
	}
	if r.Model == "" {
		return nil, llm.BadRequest("model", "you must provide a model parameter, such as \"gpt-4o\" or \"openai/gpt-4o\"")
	}
	sp := op.spec()
	var have bool
	switch sp.need {
	case "messages":
		have = seenMessages
	case "prompt":
		have = seenPrompt
	case "input":
		have = seenInput
	case "documents":
		have = r.Documents > 0 && seenQuery
	}
	if sp.need != "" && !have {
		field := sp.need
		if op == OpRerank && r.Documents > 0 {
			field = "query"
		}
		return nil, llm.BadRequest(field, "%s", sp.needMsg)
	}
	if r.Stream && sp.noStream {
		return nil, llm.BadRequest("stream", "%s cannot be streamed", sp.path)
	}
	return r, nil
}

// UpstreamBody returns the body to send to an OpenAI-compatible upstream:
// the original bytes with only "model" replaced by upstreamModel and, when
// streaming, stream_options.include_usage forced on so the gateway always
// learns the usage it bills. Every other byte is unchanged.
func (r *Request) UpstreamBody(body []byte, upstreamModel string) []byte {
	type edit struct {
		at   span
		with []byte
	}
	if r.strip {
		// Rare (OpenRouter routing fields): delete them from a copy, then
		// splice the copy as usual.
		clean := append([]byte(nil), body...)
		for _, k := range []string{"models", "provider"} {
			for gjson.GetBytes(clean, k).Exists() {
				var err error
				if clean, err = sjson.DeleteBytes(clean, k); err != nil {
					break
				}
			}
		}
		if r2, err := ScanChecked(r.Op, clean); err == nil && !r2.strip {
			return r2.UpstreamBody(clean, upstreamModel)
		}
	}
	edits := make([]edit, 0, 2)
	if upstreamModel != r.Model {
		edits = append(edits, edit{r.model, jsonstr.Append(nil, upstreamModel)})
	}
	if r.Stream && !r.IncludeUsage && !r.Op.spec().noStream {
		switch {
		case !r.streamOptions.ok():
			// Insert as the first member: after '{', before whatever follows.
			with := []byte(`"stream_options":{"include_usage":true},`)
			if isEmptyObject(body, r.open) {
				with = with[:len(with)-1]
			}
			edits = append(edits, edit{span{r.open + 1, r.open + 1}, with})
		case r.streamOptionsIsNull:
			edits = append(edits, edit{r.streamOptions, []byte(`{"include_usage":true}`)})
		default:
			edits = append(edits, edit{r.streamOptions, setTrue(body[r.streamOptions.start:r.streamOptions.end], "include_usage")})
		}
	}
	if len(edits) == 0 {
		return body
	}
	if len(edits) == 2 && edits[1].at.start < edits[0].at.start {
		edits[0], edits[1] = edits[1], edits[0]
	}
	out := make([]byte, 0, len(body)+64)
	prev := 0
	for _, e := range edits {
		out = append(out, body[prev:e.at.start]...)
		out = append(out, e.with...)
		prev = e.at.end
	}
	return append(out, body[prev:]...)
}

func isEmptyObject(body []byte, open int) bool {
	for i := open + 1; i < len(body); i++ {
		switch body[i] {
		case ' ', '\t', '\r', '\n':
		case '}':
			return true
		default:
			return false
		}
	}
	return false
}

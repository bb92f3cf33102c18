package llm

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Small pieces of wire work that every codec needs the same way.

// ParseDataURL splits a base64 data URL, "data:image/png;base64,AAAA",
// into its media type and payload. A URL that is not one (another
// scheme, no comma, not base64) is not ok.
func ParseDataURL(u string) (mediaType, data string, ok bool) {
	rest, found := strings.CutPrefix(u, "data:")
	if !found {
		return "", "", false
	}
	meta, data, found := strings.Cut(rest, ",")
	if !found {
		return "", "", false
	}
	mediaType, isB64 := strings.CutSuffix(meta, ";base64")
	if !isB64 {
		return "", "", false
	}
	return mediaType, data, true
}

// ArgsObject is a tool call's arguments as the JSON object that dialects
// with structured arguments (Gemini's args, Bedrock's toolUse.input) must
// carry: the arguments, compacted, when they are one object; {} when
// empty; else the text kept under "arguments" (a truncated stream, a model
// that wrote garbage) rather than lost.
func ArgsObject(args string) json.RawMessage {
	a := bytes.TrimSpace([]byte(args))
	if len(a) == 0 {
		return json.RawMessage(`{}`)
	}
	if a[0] == '{' && json.Valid(a) {
		var b bytes.Buffer
		_ = json.Compact(&b, a)
		return b.Bytes()
	}
	b, _ := json.Marshal(map[string]string{"arguments": args})
	return b
}

// CompactArgs is structured tool arguments as the compact JSON text of an
// OpenAI tool call; absent, null or invalid arguments are "{}".
func CompactArgs(args json.RawMessage) string {
	if len(args) == 0 || string(args) == "null" {
		return "{}"
	}
	var b bytes.Buffer
	if json.Compact(&b, args) != nil {
		return "{}"
	}
	return b.String()
}

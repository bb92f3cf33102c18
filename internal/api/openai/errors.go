package openai

import (
	"github.com/switchyard-gw/switchyard/internal/jsonstr"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/jsonscan"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

// AppendErrorObject appends the inner OpenAI error object
// {"message","type","param","code"} for e.
func AppendErrorObject(b []byte, e *llm.Error) []byte {
	b = append(b, `{"message":`...)
	b = jsonstr.Append(b, e.Message)
	b = append(b, `,"type":`...)
	b = jsonstr.Append(b, e.Type)
	b = append(b, `,"param":`...)
	if e.Param == "" {
		b = append(b, "null"...)
	} else {
		b = jsonstr.Append(b, e.Param)
	}
	b = append(b, `,"code":`...)
	if e.Code == "" {
		b = append(b, "null"...)
	} else {
		b = jsonstr.Append(b, e.Code)
	}
	return append(b, '}')
}

// AppendErrorEnvelope appends the full error body SPEC §3 fixes:
// {"error": {...}, "request_id": "..."}.
func AppendErrorEnvelope(b []byte, e *llm.Error, requestID string) []byte {
	b = append(b, `{"error":`...)
	b = AppendErrorObject(b, e)
	b = append(b, `,"request_id":`...)
	b = jsonstr.Append(b, requestID)
	return append(b, "}\n"...)
}

// ParseUpstreamError reads an upstream's error body. It understands the
// OpenAI envelope and the common variants ({"error":"text"}, {"message":...},
// [{"error":{...}}] as some Google endpoints send); otherwise it returns the
// body text, cut short.
func ParseUpstreamError(body []byte) (msg, typ, code, param string) {
	s := bytesToString(body)
	if jsonscan.Check(body, jsonscan.Options{}) == nil {
		root := gjson.Parse(s)
		if root.IsArray() {
			root = root.Get("0")
		}
		ev := root.Get("error")
		switch {
		case ev.IsObject():
			msg = ev.Get("message").String()
			typ = ev.Get("type").String()
			if typ == "" {
				typ = ev.Get("status").String()
			}
			code = ev.Get("code").String()
			param = ev.Get("param").String()
		case ev.Type == gjson.String:
			msg = ev.Str
		default:
			msg = root.Get("message").String()
		}
		if msg != "" {
			return msg, typ, code, param
		}
	}
	const max = 512
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s, "", "", ""
}

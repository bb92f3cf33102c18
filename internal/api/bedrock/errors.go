package bedrock

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// exceptionStatus is the HTTP status of each error Bedrock Runtime names
// (https://docs.aws.amazon.com/bedrock/latest/APIReference/CommonErrors.html
// and the Converse/ConverseStream error lists), so that an exception that
// arrives in a stream, without a status, is classified like the same error
// answered as a status.
var exceptionStatus = map[string]int{
	"ValidationException":                 400,
	"SerializationException":              400,
	"ServiceQuotaExceededException":       400,
	"UnrecognizedClientException":         403,
	"InvalidSignatureException":           403,
	"IncompleteSignatureException":        403,
	"MissingAuthenticationTokenException": 403,
	"ExpiredTokenException":               403,
	"AccessDeniedException":               403,
	"ResourceNotFoundException":           404,
	"ModelTimeoutException":               408,
	"ModelErrorException":                 424,
	"ModelStreamErrorException":           424,
	"ThrottlingException":                 429,
	"ModelNotReadyException":              429,
	"InternalServerException":             500,
	"InternalFailure":                     500,
	"ServiceUnavailableException":         503,
}

// isException reports whether a stream message named name is an error (an
// exception or an error message) rather than an event.
func isException(name string) bool {
	_, ok := exceptionStatus[exceptionName(name)]
	return ok || strings.HasSuffix(name, "Exception")
}

// exceptionName is an error type as exceptionStatus spells it: a stream's
// "throttlingException" with its first letter upper-cased; a body's
// "com.amazon.coral#ThrottlingException" or a header's
// "ThrottlingException:http://…" without the namespace or URL.
func exceptionName(t string) string {
	if i := strings.LastIndexByte(t, '#'); i >= 0 {
		t = t[i+1:]
	}
	if i := strings.IndexByte(t, ':'); i >= 0 {
		t = t[:i]
	}
	if t != "" && t[0] >= 'a' && t[0] <= 'z' {
		t = string(t[0]-'a'+'A') + t[1:]
	}
	return t
}

// DecodeError turns a Bedrock error answer ({"message": …}, sometimes with
// "__type") into the gateway's error. status 0 means the error came in a
// stream; typ then names it (the message's exception type). The status
// decides where the type is not known: AWS answers every refused
// credential or permission with 403, throttling with 429.
func DecodeError(status int, body []byte) *llm.Error {
	return decodeError(status, "", body)
}

func decodeError(status int, typ string, body []byte) *llm.Error {
	msg := gjson.GetBytes(body, "message").String()
	if msg == "" {
		msg = gjson.GetBytes(body, "Message").String()
	}
	if typ == "" {
		typ = gjson.GetBytes(body, "__type").String()
	}
	name := exceptionName(typ)
	if status == 0 {
		status = exceptionStatus[name]
		if status == 0 {
			status = 500
		}
	}
	if msg == "" {
		msg = "HTTP " + strconv.Itoa(status) // the codec imports no net/http
	}
	msg = clip(msg, maxMessage)
	if _, known := exceptionStatus[name]; !known {
		name = ""
	}
	switch {
	case status == 401 || status == 403:
		return llm.UpstreamError("Bedrock rejected the gateway's AWS credentials or their permissions (HTTP "+strconv.Itoa(status)+nonEmptyParen(name)+"); the operator must fix the provider's credentials or IAM policy", errors.New(msg))
	case status == 429:
		return &llm.Error{Kind: llm.KindProvider, Status: 429, Type: "rate_limit_error", Code: "rate_limit_exceeded", Message: "Bedrock is throttling: " + msg}
	case status == 404:
		return &llm.Error{Kind: llm.KindProvider, Status: 404, Type: "invalid_request_error", Code: "not_found", Message: msg}
	case status == 408 || status == 504:
		return llm.UpstreamTimeout("Bedrock timed out: "+msg, nil)
	case status == 503:
		return &llm.Error{Kind: llm.KindProvider, Status: 503, Type: "upstream_error", Code: "overloaded", Message: "Bedrock is unavailable: " + msg}
	case status == 424:
		return llm.UpstreamError("the model on Bedrock failed: "+msg, nil)
	case status >= 400 && status < 500:
		return &llm.Error{Kind: llm.KindProvider, Status: status, Type: "invalid_request_error", Code: nonEmpty(name, "invalid_request_error"), Message: msg}
	}
	return llm.UpstreamError("Bedrock failed (HTTP "+strconv.Itoa(status)+nonEmptyParen(name)+"): "+msg, nil)
}

// maxMessage bounds an upstream error message: one in a stream's exception
// is not clipped by the relay on its way to the client.
const maxMessage = 2048

// clip cuts s to at most n bytes, at a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func nonEmptyParen(s string) string {
	if s == "" {
		return ""
	}
	return ", " + s
}

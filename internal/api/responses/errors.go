package responses

import (
	"github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/llm"
)

// EncodeError renders e in OpenAI's error envelope, as on chat:
// {"error":{"message","type","param","code"},"request_id"}.
func EncodeError(e *llm.Error, requestID string) []byte {
	return openai.AppendErrorEnvelope(nil, e, requestID)
}

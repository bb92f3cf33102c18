package gemini

import (
	"encoding/json"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/switchyard-gw/switchyard/internal/llm"
)

// ModelInfo is what the Gemini model list says of one model.
type ModelInfo struct {
	ID               string
	DisplayName      string
	InputTokenLimit  int
	OutputTokenLimit int
}

// modelMethods are the methods the gateway serves for every model, as
// supportedGenerationMethods names them.
var modelMethods = []string{"generateContent", "streamGenerateContent", "countTokens"}

type wireModel struct {
	Name                       string   `json:"name"`
	BaseModelID                string   `json:"baseModelId"`
	Version                    string   `json:"version"`
	DisplayName                string   `json:"displayName"`
	InputTokenLimit            int      `json:"inputTokenLimit,omitempty"`
	OutputTokenLimit           int      `json:"outputTokenLimit,omitempty"`
	SupportedGenerationMethods []string `json:"supportedGenerationMethods"`
}

func toWireModel(m ModelInfo) wireModel {
	name := m.DisplayName
	if name == "" {
		name = m.ID
	}
	return wireModel{
		Name: "models/" + m.ID, BaseModelID: m.ID, Version: "001", DisplayName: name,
		InputTokenLimit: m.InputTokenLimit, OutputTokenLimit: m.OutputTokenLimit,
		SupportedGenerationMethods: modelMethods,
	}
}

// EncodeModel renders one model as GET /v1beta/models/{model} answers it.
func EncodeModel(m ModelInfo) []byte {
	b, _ := json.Marshal(toWireModel(m))
	return b
}

// EncodeModelList renders a page of GET /v1beta/models; next is the
// nextPageToken, empty on the last page (and then left out).
func EncodeModelList(ms []ModelInfo, next string) []byte {
	w := struct {
		Models        []wireModel `json:"models"`
		NextPageToken string      `json:"nextPageToken,omitempty"`
	}{Models: make([]wireModel, 0, len(ms)), NextPageToken: next}
	for _, m := range ms {
		w.Models = append(w.Models, toWireModel(m))
	}
	b, _ := json.Marshal(w)
	return b
}

// DecodeCountTokensRequest reads a :countTokens body: either
// {"contents": [...]} or {"generateContentRequest": {...}} (which may
// carry a systemInstruction and tools), as Google's API takes it.
func DecodeCountTokensRequest(model string, body []byte) (*llm.Request, error) {
	root := gjson.ParseBytes(body)
	if !root.IsObject() {
		return nil, llm.BadRequest("", "the request body must be a JSON object")
	}
	gcr := root.Get("generateContentRequest")
	if !gcr.Exists() {
		gcr = root.Get("generate_content_request")
	}
	if gcr.Exists() {
		if !gcr.IsObject() {
			return nil, llm.BadRequest("generateContentRequest", "generateContentRequest must be a JSON object")
		}
		if root.Get("contents").Exists() {
			return nil, llm.BadRequest("contents", "send either contents or generateContentRequest, not both")
		}
		return DecodeRequest(model, []byte(gcr.Raw))
	}
	return DecodeRequest(model, body)
}

// EncodeCountTokensResponse renders {"totalTokens": N}.
func EncodeCountTokensResponse(n int64) []byte {
	b := append([]byte(nil), `{"totalTokens":`...)
	b = strconv.AppendInt(b, n, 10)
	return append(b, '}')
}

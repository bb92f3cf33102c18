package anthropic

import "encoding/json"

// ModelInfo is what Anthropic's model list says of one model. CreatedAt
// is an RFC 3339 time, rendered by the caller (the codec reads no clock).
type ModelInfo struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	CreatedAt   string `json:"created_at"`
	// The context window and largest output, when the catalogue knows them.
	MaxInputTokens int `json:"max_input_tokens,omitempty"`
	MaxTokens      int `json:"max_tokens,omitempty"`
}

type wireModel struct {
	Type string `json:"type"`
	ModelInfo
}

// EncodeModel renders one model as GET /v1/models/{id} answers an
// Anthropic client.
func EncodeModel(m ModelInfo) []byte {
	b, _ := json.Marshal(wireModel{Type: "model", ModelInfo: m})
	return b
}

// EncodeModelList renders a page of GET /v1/models in Anthropic's shape:
// data, has_more, and the page's first and last ids (null when empty).
func EncodeModelList(ms []ModelInfo, hasMore bool) []byte {
	w := struct {
		Data    []wireModel `json:"data"`
		HasMore bool        `json:"has_more"`
		FirstID *string     `json:"first_id"`
		LastID  *string     `json:"last_id"`
	}{Data: make([]wireModel, 0, len(ms)), HasMore: hasMore}
	for _, m := range ms {
		w.Data = append(w.Data, wireModel{Type: "model", ModelInfo: m})
	}
	if len(ms) > 0 {
		w.FirstID, w.LastID = &ms[0].ID, &ms[len(ms)-1].ID
	}
	b, _ := json.Marshal(w)
	return b
}

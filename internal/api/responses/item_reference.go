package responses

import (
	"strings"

	"github.com/tidwall/gjson"
)

// isItemReference reports whether an input item is an item reference:
// {"type":"item_reference","id":…}, or {"id":…} alone, as its type is
// optional (null or absent).
func isItemReference(item gjson.Result) bool {
	switch t := item.Get("type"); t.Type {
	case gjson.String:
		return t.Str == "item_reference"
	case gjson.Null:
		return !item.Get("role").Exists() && item.Get("id").Type == gjson.String
	}
	return false
}

// ItemReferences returns the ids of the input's item references
// ({"type":"item_reference","id":…}), in order; nil when there are none.
// An id that is not a string reads as "".
// Clients with store on refer this way to output items of responses the
// gateway stored (the Vercel AI SDK sends an earlier answer's message back
// as a reference); the relay resolves them with ReplaceItemReferences
// before DecodeRequest, which refuses any left.
func ItemReferences(body []byte) []string {
	var ids []string
	gjson.GetBytes(body, "input").ForEach(func(_, item gjson.Result) bool {
		if isItemReference(item) {
			ids = append(ids, item.Get("id").Str)
		}
		return true
	})
	return ids
}

// ItemResponseID is the id of the response whose output item has id itemID
// (EncodeResponse and StreamEncoder name items <kind>_<response id>_<n>),
// and false when itemID is not such a name.
func ItemResponseID(itemID string) (string, bool) {
	var kind string
	for _, p := range []string{"msg_", "rs_", "fc_"} {
		if strings.HasPrefix(itemID, p) {
			kind = p
			break
		}
	}
	i := strings.LastIndexByte(itemID, '_')
	if kind == "" || i < len(kind)+1 || i == len(itemID)-1 {
		return "", false
	}
	for _, c := range itemID[i+1:] {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	return itemID[len(kind):i], true
}

// OutputItem returns the output item with id itemID of a Response object
// (as EncodeResponse wrote it), and false when it has none.
func OutputItem(response []byte, itemID string) ([]byte, bool) {
	var raw string
	gjson.GetBytes(response, "output").ForEach(func(_, item gjson.Result) bool {
		if item.Get("id").Str == itemID {
			raw = item.Raw
			return false
		}
		return true
	})
	return []byte(raw), raw != ""
}

// ReplaceItemReferences returns body with each item_reference input item
// replaced by items[its id]; references missing from items are kept.
func ReplaceItemReferences(body []byte, items map[string][]byte) []byte {
	out := make([]byte, 0, len(body)+256*len(items))
	last := 0
	gjson.GetBytes(body, "input").ForEach(func(_, item gjson.Result) bool {
		if !isItemReference(item) {
			return true
		}
		if it, ok := items[item.Get("id").Str]; ok && item.Index > 0 {
			out = append(out, body[last:item.Index]...)
			out = append(out, it...)
			last = item.Index + len(item.Raw)
		}
		return true
	})
	return append(out, body[last:]...)
}

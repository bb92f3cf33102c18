package gemini

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Google's REST endpoints accept proto field names in snake_case as well
// as lowerCamelCase, and the curl examples in the Gemini docs use both
// ("system_instruction", "inline_data": {"mime_type"…}). encoding/json
// matches only the camelCase tags, so a body with snake_case keys is
// rewritten first. Free-form values are left alone: functionCall.args,
// functionResponse.response, the JSON-Schema variants, and the names of
// schema properties (only their schemas are rewritten).
func normalizeKeys(body []byte) []byte {
	if !bytes.Contains(body, []byte("_")) {
		return body
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return body // the struct decode reports the error
	}
	walkKeys(v, false)
	b, err := json.Marshal(v)
	if err != nil {
		return body
	}
	return b
}

func walkKeys(v any, propertyNames bool) {
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			walkKeys(e, false)
		}
	case map[string]any:
		for k, val := range t {
			if propertyNames {
				walkKeys(val, false) // k is a property's name: keep it
				continue
			}
			nk := camelCase(k)
			if nk != k {
				if _, taken := t[nk]; !taken {
					delete(t, k)
					t[nk] = val
				}
			}
			switch nk {
			case "args", "response", "parametersJsonSchema", "responseJsonSchema":
				// free-form JSON
			case "properties":
				walkKeys(val, true)
			default:
				walkKeys(val, false)
			}
		}
	}
}

// camelCase turns "max_output_tokens" into "maxOutputTokens".
func camelCase(k string) string {
	if !strings.Contains(k, "_") || strings.HasPrefix(k, "$") || strings.HasPrefix(k, "@") || strings.HasPrefix(k, "_") {
		return k
	}
	var b strings.Builder
	up := false
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c == '_' {
			up = true
			continue
		}
		if up && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		up = false
		b.WriteByte(c)
	}
	return b.String()
}

package gemini

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Gemini's Schema is "a select subset of an OpenAPI 3.0 schema object"
// (https://ai.google.dev/api/caching#Schema). A keyword outside the subset
// makes the API answer 400, so everything else is removed here rather than
// passed on: $schema, additionalProperties, $ref/$defs (simple local refs
// are inlined first), examples, default, patternProperties, allOf, not…
//
// type arrays such as ["string","null"] become type + nullable; const
// becomes a one-value enum; oneOf becomes anyOf; enum values are strings
// (Gemini's enum is string[]); types are upper-case, as in the reference.

// maxRefDepth bounds $ref inlining, so a recursive schema ends instead of
// growing without limit; a ref deeper than this is dropped. maxRefExpansions
// bounds the total, so refs that fan out (each def using the next one ten
// times) cannot turn a small request into an exponential one.
const (
	maxRefDepth      = 8
	maxRefExpansions = 256
)

type schemaConv struct {
	defs       map[string]any
	expansions int
}

// schemaSubset converts a JSON Schema to the subset Gemini accepts. A
// schema that is not valid JSON is an error; anything else is converted.
func schemaSubset(raw []byte) (json.RawMessage, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	root, _ := v.(map[string]any)
	var defs map[string]any
	if root != nil {
		defs = map[string]any{}
		for _, k := range []string{"definitions", "$defs"} {
			if d, ok := root[k].(map[string]any); ok {
				for name, s := range d {
					defs["#/"+k+"/"+name] = s
				}
			}
		}
	}
	c := &schemaConv{defs: defs}
	return json.Marshal(c.convert(v, 0))
}

func (c *schemaConv) convert(v any, depth int) map[string]any {
	m, ok := v.(map[string]any)
	out := map[string]any{}
	if !ok {
		return out // boolean schemas (true/false) have no Gemini form
	}
	if ref, ok := m["$ref"].(string); ok {
		target, found := c.defs[ref]
		if !found || depth >= maxRefDepth || c.expansions >= maxRefExpansions {
			return out
		}
		c.expansions++
		out = c.convert(target, depth+1)
		if d, ok := m["description"].(string); ok {
			out["description"] = d
		}
		return out
	}
	nullable := false
	for k, val := range m {
		switch k {
		case "type":
			switch t := val.(type) {
			case string:
				if t == "null" {
					nullable = true
				} else {
					out["type"] = strings.ToUpper(t)
				}
			case []any:
				for _, e := range t {
					s, _ := e.(string)
					if s == "null" {
						nullable = true
					} else if s != "" && out["type"] == nil {
						out["type"] = strings.ToUpper(s)
					}
				}
			}
		case "format", "description", "title", "pattern":
			if s, ok := val.(string); ok {
				out[k] = s
			}
		case "nullable":
			if b, ok := val.(bool); ok && b {
				nullable = true
			}
		case "enum":
			if arr, ok := val.([]any); ok {
				vals := make([]any, 0, len(arr))
				for _, e := range arr {
					if e == nil {
						nullable = true
						continue
					}
					vals = append(vals, enumString(e))
				}
				if len(vals) > 0 {
					out["enum"] = vals
				}
			}
		case "const":
			if val == nil {
				nullable = true
			} else {
				out["enum"] = []any{enumString(val)}
			}
		case "properties":
			if props, ok := val.(map[string]any); ok && len(props) > 0 {
				conv := make(map[string]any, len(props))
				for name, s := range props {
					conv[name] = c.convert(s, depth)
				}
				out["properties"] = conv
			}
		case "required", "propertyOrdering":
			if arr, ok := val.([]any); ok {
				names := make([]any, 0, len(arr))
				for _, e := range arr {
					if s, ok := e.(string); ok {
						names = append(names, s)
					}
				}
				if len(names) > 0 {
					out[k] = names
				}
			}
		case "items":
			// A tuple (items as an array) has no Gemini form.
			if _, ok := val.(map[string]any); ok {
				out["items"] = c.convert(val, depth)
			}
		case "minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties", "minimum", "maximum":
			if n, ok := val.(json.Number); ok {
				out[k] = n
			}
		case "anyOf", "oneOf":
			arr, ok := val.([]any)
			if !ok {
				continue
			}
			var alts []any
			for _, e := range arr {
				if em, ok := e.(map[string]any); ok && len(em) == 1 && em["type"] == "null" {
					nullable = true
					continue
				}
				alts = append(alts, c.convert(e, depth))
			}
			switch {
			case len(alts) == 1 && len(m) == 1:
				// {"anyOf":[X,{"type":"null"}]} is just a nullable X.
				for ak, av := range alts[0].(map[string]any) {
					out[ak] = av
				}
			case len(alts) > 0:
				out["anyOf"] = alts
			}
		}
	}
	if nullable {
		out["nullable"] = true
	}
	if out["type"] == nil && out["properties"] != nil {
		out["type"] = "OBJECT"
	}
	return out
}

// enumString renders an enum value as Gemini's string form.
func enumString(v any) string {
	switch e := v.(type) {
	case string:
		return e
	case json.Number:
		return e.String()
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// schemaFromGemini turns a Gemini schema into plain JSON Schema for the
// other dialects: types are lower-case there. Other keywords are already
// JSON Schema.
func schemaFromGemini(raw []byte) json.RawMessage {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return raw
	}
	lowerTypes(v)
	b, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return b
}

func lowerTypes(v any) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	if t, ok := m["type"].(string); ok {
		m["type"] = strings.ToLower(t)
	}
	if props, ok := m["properties"].(map[string]any); ok {
		for _, s := range props {
			lowerTypes(s)
		}
	}
	lowerTypes(m["items"])
	if alts, ok := m["anyOf"].([]any); ok {
		for _, s := range alts {
			lowerTypes(s)
		}
	}
}

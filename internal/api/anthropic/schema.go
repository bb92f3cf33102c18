package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
)

// Structured outputs (output_config.format) accept a subset of JSON Schema
// (https://platform.claude.com/docs/en/build-with-claude/structured-outputs,
// "JSON Schema limitations"): every object must say additionalProperties
// false, and numeric, length and most array constraints are refused.
// outputSchema rewrites a schema from another dialect into that subset the
// way Anthropic's own SDKs do before sending it: keys outside the subset are
// dropped (the model's answer may then break a bound the client still
// checks), oneOf becomes anyOf, minItems above 1 is dropped, an object
// without additionalProperties gets false, and a $ref stands alone. Property
// order is kept: the model writes properties in schema order.

// maxSchemaDepth bounds the rewrite's recursion; deeper parts of a hostile
// schema are copied unchanged.
const maxSchemaDepth = 64

var outputSchemaKeys = []string{
	"$ref", "$defs", "definitions", "type", "anyOf", "oneOf", "allOf", "description", "title",
	"enum", "const", "properties", "additionalProperties", "required", "items", "minItems",
	"format", "pattern",
}

var outputStringFormats = []string{"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}

// jnode is a JSON value that keeps the order of object keys.
type jnode struct {
	keys []string        // object keys, in order
	vals []*jnode        // object values (object) or elements (array)
	obj  bool            // an object
	arr  bool            // an array
	raw  json.RawMessage // a scalar, as written
}

func (n *jnode) get(key string) *jnode {
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

func (n *jnode) set(key string, v *jnode) {
	for i, k := range n.keys {
		if k == key {
			n.vals[i] = v
			return
		}
	}
	n.keys, n.vals = append(n.keys, key), append(n.vals, v)
}

func parseJSON(raw []byte) (*jnode, error) {
	if !json.Valid(raw) {
		return nil, errors.New("the schema is not valid JSON")
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	return parseNode(d)
}

func parseNode(d *json.Decoder) (*jnode, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		n := &jnode{obj: t == '{', arr: t == '['}
		for d.More() {
			if n.obj {
				k, err := d.Token()
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k.(string))
			}
			v, err := parseNode(d)
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, v)
		}
		if _, err := d.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		return n, nil
	default:
		b, err := json.Marshal(t)
		if err != nil {
			return nil, err
		}
		return &jnode{raw: b}, nil
	}
}

func (n *jnode) appendJSON(b []byte) []byte {
	switch {
	case n.obj:
		b = append(b, '{')
		for i, k := range n.keys {
			if i > 0 {
				b = append(b, ',')
			}
			kb, _ := json.Marshal(k)
			b = append(b, kb...)
			b = append(b, ':')
			b = n.vals[i].appendJSON(b)
		}
		return append(b, '}')
	case n.arr:
		b = append(b, '[')
		for i, v := range n.vals {
			if i > 0 {
				b = append(b, ',')
			}
			b = v.appendJSON(b)
		}
		return append(b, ']')
	}
	return append(b, n.raw...)
}

// outputSchema returns schema rewritten for output_config.format.
func outputSchema(schema json.RawMessage) (json.RawMessage, error) {
	root, err := parseJSON(schema)
	if err != nil {
		return nil, err
	}
	if !root.obj {
		return nil, errors.New("the schema is not a JSON object")
	}
	rewriteSchema(root, 0)
	return root.appendJSON(nil), nil
}

func rewriteSchema(n *jnode, depth int) {
	if !n.obj || depth > maxSchemaDepth {
		return
	}
	if ref := n.get("$ref"); ref != nil {
		n.keys, n.vals = []string{"$ref"}, []*jnode{ref}
		return
	}
	keys, vals := n.keys[:0:0], n.vals[:0:0]
	for i, k := range n.keys {
		v := n.vals[i]
		if !slices.Contains(outputSchemaKeys, k) {
			continue
		}
		switch k {
		case "oneOf":
			if n.get("anyOf") != nil {
				continue
			}
			k = "anyOf"
		case "minItems":
			if s := string(v.raw); s != "0" && s != "1" {
				continue
			}
		case "format":
			var f string
			if json.Unmarshal(v.raw, &f) != nil || !slices.Contains(outputStringFormats, f) {
				continue
			}
		}
		keys, vals = append(keys, k), append(vals, v)
	}
	n.keys, n.vals = keys, vals

	for _, k := range []string{"properties", "$defs", "definitions"} {
		if m := n.get(k); m != nil && m.obj {
			for _, v := range m.vals {
				rewriteSchema(v, depth+1)
			}
		}
	}
	for _, k := range []string{"anyOf", "allOf"} {
		if a := n.get(k); a != nil && a.arr {
			for _, v := range a.vals {
				rewriteSchema(v, depth+1)
			}
		}
	}
	if items := n.get("items"); items != nil {
		rewriteSchema(items, depth+1)
	}
	ap := n.get("additionalProperties")
	if ap != nil {
		rewriteSchema(ap, depth+1)
	}
	// An object with properties is closed; one without properties whose
	// additionalProperties is a schema is a map and stays one.
	if isObjectSchema(n) && (ap == nil || n.get("properties") != nil) {
		if n.get("properties") == nil {
			n.set("properties", &jnode{obj: true})
		}
		n.set("additionalProperties", &jnode{raw: json.RawMessage("false")})
	}
}

// isObjectSchema reports a schema whose type is (or includes) "object", or
// that has properties and no type.
func isObjectSchema(n *jnode) bool {
	t := n.get("type")
	switch {
	case t == nil:
		return n.get("properties") != nil
	case t.arr:
		for _, v := range t.vals {
			if string(v.raw) == `"object"` {
				return true
			}
		}
		return false
	}
	return string(t.raw) == `"object"`
}

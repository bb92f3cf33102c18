package mock

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/jsonstr"
)

// Structured output. exampleJSON makes the value the mock answers for a
// response_format json_schema and the arguments of the tool calls it makes:
// a deterministic instance of a JSON Schema, so that a client which parses
// the answer into its own types (openai-go's structured outputs, Anthropic's
// messages.parse, Pydantic) gets an object it accepts.
//
// The rules, in order: const; the first enum value; $ref (to "#", $defs,
// definitions or any local JSON pointer); allOf merged into one schema; the
// first anyOf / oneOf branch; then by type (the first non-null one of a type
// list; inferred from properties, items and the like when absent):
//
//   - object: every property in schema order (required or not), and required
//     names without a property schema from additionalProperties, else "mock";
//   - array: max(1, minItems) items (capped by maxItems), prefixItems first;
//   - string: an example of its format (date-time, date, email, uri, uuid…),
//     else "mock", padded to minLength and cut to maxLength;
//   - number and integer: 1 moved into [minimum, maximum] (exclusive bounds
//     too) and onto multipleOf;
//   - boolean: true; null: null; a schema with no type at all: "mock".
//
// Schemas are client input, so the walk is bounded: past softDepth levels or
// softBudget bytes of output optional properties are left out and arrays get
// minItems items; past hardDepth levels or hardBudget bytes every value is the
// smallest of its type ({} [] "" 0), so a recursive or exponentially
// branching schema costs at most hardBudget bytes of work. minItems counts
// above maxArrayItems are cut to it. The value may then not validate, which a
// schema that demands that much cannot expect of a demo model.

const (
	softDepth     = 8
	hardDepth     = 32
	softBudget    = 16 << 10
	hardBudget    = 256 << 10
	maxArrayItems = 64
	maxStringLen  = 1024
)

// snode is a parsed JSON value that keeps the order of object keys.
type snode struct {
	keys []string // object keys, in order
	vals []*snode // object values, or array elements
	kind byte     // '{', '[', or 0 for a scalar
	raw  []byte   // a scalar, as written
}

func (n *snode) get(key string) *snode {
	if n == nil {
		return nil
	}
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

func (n *snode) str() string {
	if n == nil || n.kind != 0 || len(n.raw) == 0 || n.raw[0] != '"' {
		return ""
	}
	var s string
	_ = json.Unmarshal(n.raw, &s)
	return s
}

func (n *snode) num() (float64, bool) {
	if n == nil || n.kind != 0 {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n.raw), 64)
	return f, err == nil && !math.IsInf(f, 0)
}

func (n *snode) appendJSON(b []byte) []byte {
	switch n.kind {
	case '{':
		b = append(b, '{')
		for i, k := range n.keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonstr.Append(b, k)
			b = append(b, ':')
			b = n.vals[i].appendJSON(b)
		}
		return append(b, '}')
	case '[':
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

func parseSchema(raw []byte) (*snode, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || !json.Valid(raw) {
		return nil, false
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	n, err := parseSNode(d)
	return n, err == nil
}

func parseSNode(d *json.Decoder) (*snode, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	if delim, ok := tok.(json.Delim); ok {
		n := &snode{kind: byte(delim)}
		for d.More() {
			if n.kind == '{' {
				k, err := d.Token()
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k.(string))
			}
			v, err := parseSNode(d)
			if err != nil {
				return nil, err
			}
			n.vals = append(n.vals, v)
		}
		_, err := d.Token() // the closing delimiter
		return n, err
	}
	b, err := json.Marshal(tok)
	return &snode{raw: b}, err
}

// exampleJSON returns a JSON value valid against schema (see above), or ""
// when schema is not JSON.
func exampleJSON(schema []byte) string {
	root, ok := parseSchema(schema)
	if !ok {
		return ""
	}
	g := schemaGen{root: root, refs: map[string]*snode{}, merged: map[*snode]*snode{}}
	g.value(root, 0)
	return string(g.b)
}

type schemaGen struct {
	root   *snode
	b      []byte
	refs   map[string]*snode // resolved $ref targets
	merged map[*snode]*snode // allOf schemas merged into one
}

func (g *schemaGen) value(s *snode, depth int) {
	if s == nil || s.kind != '{' { // true, false, or not a schema: anything goes
		g.b = append(g.b, `"mock"`...)
		return
	}
	if c := s.get("const"); c != nil {
		g.b = c.appendJSON(g.b)
		return
	}
	if e := s.get("enum"); e != nil && e.kind == '[' && len(e.vals) > 0 {
		g.b = e.vals[0].appendJSON(g.b)
		return
	}
	if depth >= hardDepth {
		g.b = append(g.b, "null"...)
		return
	}
	if ref := s.get("$ref").str(); ref != "" {
		g.value(g.resolve(ref), depth+1)
		return
	}
	if all := s.get("allOf"); all != nil && all.kind == '[' && len(all.vals) > 0 {
		g.value(g.merge(s), depth+1)
		return
	}
	for _, k := range [...]string{"anyOf", "oneOf"} {
		if alt := s.get(k); alt != nil && alt.kind == '[' && len(alt.vals) > 0 {
			g.value(alt.vals[0], depth+1)
			return
		}
	}
	exhausted := len(g.b) >= hardBudget
	minimal := depth >= softDepth || len(g.b) >= softBudget
	switch schemaType(s) {
	case "object":
		if exhausted {
			g.b = append(g.b, "{}"...)
			return
		}
		g.object(s, depth, minimal)
	case "array":
		if exhausted {
			g.b = append(g.b, "[]"...)
			return
		}
		g.array(s, depth, minimal)
	case "string":
		if exhausted {
			g.b = append(g.b, `""`...)
			return
		}
		g.b = jsonstr.Append(g.b, exampleString(s))
	case "integer":
		g.b = strconv.AppendFloat(g.b, exampleNumber(s, true), 'f', -1, 64)
	case "number":
		g.b = strconv.AppendFloat(g.b, exampleNumber(s, false), 'f', -1, 64)
	case "boolean":
		g.b = append(g.b, "true"...)
	case "null":
		g.b = append(g.b, "null"...)
	default:
		g.b = append(g.b, `"mock"`...)
	}
}

// schemaType is the type to generate: the first non-null one named, else
// what the schema's keywords imply.
func schemaType(s *snode) string {
	t := s.get("type")
	switch {
	case t != nil && t.kind == '[':
		for _, v := range t.vals {
			if name := v.str(); name != "null" {
				return name
			}
		}
		return "null"
	case t != nil:
		return t.str()
	}
	for _, k := range [...]string{"properties", "required", "additionalProperties"} {
		if s.get(k) != nil {
			return "object"
		}
	}
	for _, k := range [...]string{"items", "prefixItems", "minItems"} {
		if s.get(k) != nil {
			return "array"
		}
	}
	for _, k := range [...]string{"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"} {
		if s.get(k) != nil {
			return "number"
		}
	}
	return ""
}

func (g *schemaGen) object(s *snode, depth int, minimal bool) {
	required := map[string]bool{}
	if req := s.get("required"); req != nil && req.kind == '[' {
		for _, v := range req.vals {
			required[v.str()] = true
		}
	}
	written := make(map[string]bool, len(required))
	g.b = append(g.b, '{')
	add := func(name string, schema *snode) {
		if len(written) > 0 {
			g.b = append(g.b, ',')
		}
		written[name] = true
		g.b = jsonstr.Append(g.b, name)
		g.b = append(g.b, ':')
		g.value(schema, depth+1)
	}
	props := s.get("properties")
	if props != nil && props.kind == '{' {
		for i, name := range props.keys {
			if !written[name] && (required[name] || !minimal) {
				add(name, props.vals[i])
			}
		}
	}
	if req := s.get("required"); req != nil && req.kind == '[' {
		extra := s.get("additionalProperties")
		if extra == nil || extra.kind != '{' {
			extra = &snode{kind: '{', keys: []string{"type"}, vals: []*snode{{raw: []byte(`"string"`)}}}
		}
		for _, v := range req.vals {
			if name := v.str(); name != "" && !written[name] {
				add(name, extra)
			}
		}
	}
	g.b = append(g.b, '}')
}

func (g *schemaGen) array(s *snode, depth int, minimal bool) {
	n := 1
	if minimal {
		n = 0
	}
	if v, ok := s.get("minItems").num(); ok {
		n = max(n, int(min(math.Ceil(v), maxArrayItems)))
	}
	var prefix []*snode
	if p := s.get("prefixItems"); p != nil && p.kind == '[' {
		prefix = p.vals
	}
	items := s.get("items")
	if items != nil && items.kind == '[' { // draft 4-7 tuple form
		prefix, items = items.vals, s.get("additionalItems")
	}
	if v, ok := s.get("maxItems").num(); ok && float64(n) > v {
		n = max(int(v), 0)
	}
	n = min(n, maxArrayItems)
	g.b = append(g.b, '[')
	for i := range n {
		if i > 0 {
			g.b = append(g.b, ',')
		}
		if i < len(prefix) {
			g.value(prefix[i], depth+1)
		} else {
			g.value(items, depth+1)
		}
	}
	g.b = append(g.b, ']')
}

// stringFormats are examples of the formats OpenAI's and Anthropic's
// structured outputs accept.
var stringFormats = map[string]string{
	"date-time": "2025-01-01T00:00:00Z",
	"date":      "2025-01-01",
	"time":      "00:00:00Z",
	"duration":  "P1D",
	"email":     "mock@example.com",
	"hostname":  "example.com",
	"uri":       "https://example.com/",
	"url":       "https://example.com/",
	"ipv4":      "192.0.2.1",
	"ipv6":      "2001:db8::1",
	"uuid":      "00000000-0000-4000-8000-000000000000",
}

func exampleString(s *snode) string {
	v, ok := stringFormats[s.get("format").str()]
	if !ok {
		v = "mock"
	}
	if n, ok := s.get("minLength").num(); ok && float64(len(v)) < n {
		n = min(n, maxStringLen)
		v = strings.Repeat(v, int(n)/len(v)+1)[:int(math.Ceil(n))]
	}
	if n, ok := s.get("maxLength").num(); ok && float64(len(v)) > n {
		v = v[:max(int(n), 0)]
	}
	return v
}

func exampleNumber(s *snode, integer bool) float64 {
	// Draft 4 writes exclusive bounds as booleans beside minimum/maximum.
	exclMin := s.get("exclusiveMinimum") != nil && string(s.get("exclusiveMinimum").raw) == "true"
	exclMax := s.get("exclusiveMaximum") != nil && string(s.get("exclusiveMaximum").raw) == "true"
	v := 1.0
	if lo, ok := s.get("minimum").num(); ok && (v < lo || exclMin && v <= lo) {
		v = lo
		if exclMin {
			v++
		}
	}
	if lo, ok := s.get("exclusiveMinimum").num(); ok && v <= lo {
		v = lo + 1
	}
	if hi, ok := s.get("maximum").num(); ok && (v > hi || exclMax && v >= hi) {
		v = hi
		if exclMax {
			v--
		}
	}
	if hi, ok := s.get("exclusiveMaximum").num(); ok && v >= hi {
		v = hi - 1
	}
	if m, ok := s.get("multipleOf").num(); ok && m > 0 {
		v = math.Ceil(v/m) * m
	}
	if integer {
		v = math.Ceil(v)
	}
	return v
}

// resolve follows a local $ref; what cannot be found is the empty schema.
func (g *schemaGen) resolve(ref string) *snode {
	if n, ok := g.refs[ref]; ok {
		return n
	}
	var n *snode
	if ptr, ok := strings.CutPrefix(ref, "#"); ok {
		n = g.root
		for tok := range strings.SplitSeq(strings.TrimPrefix(ptr, "/"), "/") {
			if ptr == "" || n == nil {
				break
			}
			tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
			switch n.kind {
			case '{':
				n = n.get(tok)
			case '[':
				i, err := strconv.Atoi(tok)
				if err != nil || i < 0 || i >= len(n.vals) {
					n = nil
				} else {
					n = n.vals[i]
				}
			default:
				n = nil
			}
		}
	}
	if n == nil {
		n = &snode{kind: '{'}
	}
	g.refs[ref] = n
	return n
}

// merge folds s's allOf members (one level, $refs followed) into one schema:
// properties are combined, required lists joined, and for other keywords
// the first one seen wins.
func (g *schemaGen) merge(s *snode) *snode {
	if m, ok := g.merged[s]; ok {
		return m
	}
	out := &snode{kind: '{'}
	props := &snode{kind: '{'}
	req := &snode{kind: '['}
	fold := func(part *snode) {
		if part == nil || part.kind != '{' {
			return
		}
		for i, k := range part.keys {
			v := part.vals[i]
			switch k {
			case "allOf":
			case "properties":
				if v.kind == '{' {
					for j, name := range v.keys {
						if props.get(name) == nil {
							props.keys, props.vals = append(props.keys, name), append(props.vals, v.vals[j])
						}
					}
				}
			case "required":
				if v.kind == '[' {
					req.vals = append(req.vals, v.vals...)
				}
			default:
				if out.get(k) == nil {
					out.keys, out.vals = append(out.keys, k), append(out.vals, v)
				}
			}
		}
	}
	fold(s)
	for _, part := range s.get("allOf").vals {
		if ref := part.get("$ref").str(); ref != "" {
			part = g.resolve(ref)
		}
		fold(part)
	}
	if len(props.keys) > 0 {
		out.keys, out.vals = append(out.keys, "properties"), append(out.vals, props)
	}
	if len(req.vals) > 0 {
		out.keys, out.vals = append(out.keys, "required"), append(out.vals, req)
	}
	g.merged[s] = out
	return out
}

package gemini

import (
	"encoding/json"
	"testing"
)

// removedKeywords must never reach Gemini: it rejects them.
var removedKeywords = []string{"$schema", "$ref", "$defs", "definitions", "additionalProperties", "examples",
	"default", "patternProperties", "const", "oneOf", "allOf", "not", "$id", "if", "then", "else", "dependentSchemas"}

// checkSubset walks a converted schema and reports a removed keyword in
// a keyword position (property names may be anything).
func checkSubset(t *testing.T, v any, path string) {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Errorf("%s: schema is %T, not an object", path, v)
		return
	}
	for _, k := range removedKeywords {
		if _, ok := m[k]; ok {
			t.Errorf("%s: keyword %q survived", path, k)
		}
	}
	if props, ok := m["properties"].(map[string]any); ok {
		for name, s := range props {
			checkSubset(t, s, path+".properties."+name)
		}
	}
	if items, ok := m["items"]; ok {
		checkSubset(t, items, path+".items")
	}
	if alts, ok := m["anyOf"].([]any); ok {
		for _, s := range alts {
			checkSubset(t, s, path+".anyOf")
		}
	}
}

func TestSchemaSubset(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "keeps supported keywords and upper-cases types",
			in:   `{"type":"object","description":"d","properties":{"n":{"type":"integer","minimum":1,"maximum":9,"format":"int32"},"s":{"type":"string","minLength":1,"maxLength":5,"pattern":"^a"}},"required":["n"],"propertyOrdering":["n","s"]}`,
			want: `{"description":"d","properties":{"n":{"format":"int32","maximum":9,"minimum":1,"type":"INTEGER"},"s":{"maxLength":5,"minLength":1,"pattern":"^a","type":"STRING"}},"propertyOrdering":["n","s"],"required":["n"],"type":"OBJECT"}`},
		{name: "removes unsupported keywords",
			in:   `{"$schema":"x","type":"object","additionalProperties":false,"properties":{"a":{"type":"string","default":"x","examples":["y"]}},"patternProperties":{"^x":{}}}`,
			want: `{"properties":{"a":{"type":"STRING"}},"type":"OBJECT"}`},
		{name: "type with null becomes nullable",
			in:   `{"type":["null","number"]}`,
			want: `{"nullable":true,"type":"NUMBER"}`},
		{name: "anyOf with null becomes nullable",
			in:   `{"anyOf":[{"type":"string"},{"type":"null"}]}`,
			want: `{"nullable":true,"type":"STRING"}`},
		{name: "oneOf becomes anyOf",
			in:   `{"oneOf":[{"type":"string"},{"type":"integer"}]}`,
			want: `{"anyOf":[{"type":"STRING"},{"type":"INTEGER"}]}`},
		{name: "const becomes a one-value enum",
			in:   `{"type":"string","const":"x"}`,
			want: `{"enum":["x"],"type":"STRING"}`},
		{name: "local refs are inlined",
			in:   `{"type":"object","properties":{"p":{"$ref":"#/definitions/P","description":"the p"}},"definitions":{"P":{"type":"object","properties":{"x":{"type":"number"}}}}}`,
			want: `{"properties":{"p":{"description":"the p","properties":{"x":{"type":"NUMBER"}},"type":"OBJECT"}},"type":"OBJECT"}`},
		{name: "remote refs are dropped",
			in:   `{"type":"object","properties":{"p":{"$ref":"https://example.com/p.json"}}}`,
			want: `{"properties":{"p":{}},"type":"OBJECT"}`},
		{name: "recursive refs stop",
			in:   `{"$ref":"#/$defs/N","$defs":{"N":{"type":"object","properties":{"next":{"$ref":"#/$defs/N"}}}}}`,
			want: ``},
		{name: "property named like a keyword is kept",
			in:   `{"type":"object","properties":{"default":{"type":"string"},"$ref":{"type":"string"}}}`,
			want: `{"properties":{"$ref":{"type":"STRING"},"default":{"type":"STRING"}},"type":"OBJECT"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := schemaSubset([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != "" && string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			var v any
			if err := json.Unmarshal(got, &v); err != nil {
				t.Fatal(err)
			}
			checkSubset(t, v, "$")
		})
	}
}

func TestSchemaSubsetRejectsOnlyInvalidJSON(t *testing.T) {
	if _, err := schemaSubset([]byte(`{"type":`)); err == nil {
		t.Error("invalid JSON accepted")
	}
	for _, in := range []string{`true`, `[]`, `"x"`, `null`} {
		got, err := schemaSubset([]byte(in))
		if err != nil || string(got) != `{}` {
			t.Errorf("schemaSubset(%s) = %s, %v; want {}", in, got, err)
		}
	}
}

func TestSchemaSubsetBoundsFanOutRefs(t *testing.T) {
	// Each def uses the next one four times: 4^8 copies without a bound.
	defs := map[string]any{}
	for i := range 10 {
		next := map[string]any{"$ref": "#/$defs/d" + itoa(i+1)}
		defs["d"+itoa(i)] = map[string]any{"type": "object", "properties": map[string]any{"a": next, "b": next, "c": next, "d": next}}
	}
	in, _ := json.Marshal(map[string]any{"$ref": "#/$defs/d0", "$defs": defs})
	out, err := schemaSubset(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) > 64<<10 {
		t.Errorf("a %d-byte schema grew to %d bytes", len(in), len(out))
	}
}

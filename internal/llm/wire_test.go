package llm

import "testing"

func TestParseDataURL(t *testing.T) {
	for _, c := range []struct {
		in, mt, data string
		ok           bool
	}{
		{"data:image/png;base64,AAAA", "image/png", "AAAA", true},
		{"data:;base64,", "", "", true},
		{"data:text/plain,hello", "", "", false}, // not base64
		{"https://example.com/a;base64,AAAA", "", "", false},
		{"data:image/png;base64", "", "", false}, // no comma
	} {
		mt, data, ok := ParseDataURL(c.in)
		if mt != c.mt || data != c.data || ok != c.ok {
			t.Errorf("ParseDataURL(%q) = %q, %q, %v; want %q, %q, %v", c.in, mt, data, ok, c.mt, c.data, c.ok)
		}
	}
}

func TestArgsObjectAndCompactArgs(t *testing.T) {
	for in, want := range map[string]string{
		"":              `{}`,
		` { "a" : 1 } `: `{"a":1}`,
		`{"a": 1`:       `{"arguments":"{\"a\": 1"}`,
		`[1,2]`:         `{"arguments":"[1,2]"}`,
		`not json`:      `{"arguments":"not json"}`,
	} {
		if got := string(ArgsObject(in)); got != want {
			t.Errorf("ArgsObject(%q) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]string{"": "{}", "null": "{}", `{ "a" : [1, 2] }`: `{"a":[1,2]}`, `{bad`: "{}"} {
		if got := CompactArgs([]byte(in)); got != want {
			t.Errorf("CompactArgs(%q) = %s, want %s", in, got, want)
		}
	}
}

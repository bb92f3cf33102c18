package jsonstr

import (
	"encoding/json"
	"testing"
)

func TestAppendIsValidJSONForAnyInput(t *testing.T) {
	for _, s := range []string{"plain", "quote\" back\\slash", "ctl\x00\x01\x1f\x7f", "tab\tnl\ncr\r", "bad utf8 \xff\xfe", "三", "\u2028\u2029", ""} {
		out := Append(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("Append(%q) = %s: not JSON: %v", s, out, err)
		}
	}
}

func FuzzAppend(f *testing.F) {
	f.Add("x\x7f\xff\"")
	f.Fuzz(func(t *testing.T, s string) {
		out := Append(nil, s)
		var back string
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("Append(%q) = %s: not JSON: %v", s, out, err)
		}
		if json.Valid([]byte(`"`+s+`"`)) == false && back == s && s != "" {
			// fine: s needed escaping and survived
		}
	})
}

package jsonscan

import (
	"encoding/json"
	"testing"
)

func TestAppendUnescaped(t *testing.T) {
	for _, s := range []string{`plain`, `a\nb\t\"q\"\\\/`, `\u00e9\u4e2d`, `\ud83d\ude00 smile`, `lone \ud800 x`, `\b\f\r`} {
		var want string
		if err := json.Unmarshal([]byte(`"`+s+`"`), &want); err != nil {
			t.Fatal(err)
		}
		if got := string(AppendUnescaped(nil, []byte(s))); got != want {
			t.Errorf("AppendUnescaped(%q) = %q, want %q", s, got, want)
		}
	}
}

package relay

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAttributionIsCappedAtACharacterBoundaryWithoutControls(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{name: "short and plain is kept", in: "My App", want: "My App"},
		{name: "long is cut to the cap", in: strings.Repeat("x", 10_000), want: strings.Repeat("x", maxAttribution)},
		{name: "cut falls inside a character", in: "a" + strings.Repeat("é", 200), want: "a" + strings.Repeat("é", (maxAttribution-1)/2)},
		{name: "controls and NUL are dropped", in: "My\x00 App\t\r\n\x1b[31m\u0085", want: "My App[31m"},
		{name: "invalid UTF-8 is dropped", in: "ok\xff\xfe!", want: "ok!"},
		{name: "non-ASCII is kept", in: "Mon appli – 日本", want: "Mon appli – 日本"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := attribution(tc.in)
			if got != tc.want {
				t.Fatalf("attribution(%.40q) = %.60q, want %.60q", tc.in, got, tc.want)
			}
			if len(got) > maxAttribution || !utf8.ValidString(got) {
				t.Fatalf("%d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
			}
		})
	}
}

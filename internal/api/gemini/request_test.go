package gemini

import (
	"strings"
	"testing"
)

// A model name taken from the client stays one path segment: it cannot
// climb out of models/ to another method of the API.
func TestPathKeepsTheModelInOneSegment(t *testing.T) {
	for _, p := range []string{Path("../../v1beta/files", false), Path("../../v1beta/files", true), EmbedPath("a/../../b?x=1#f")} {
		rest := strings.TrimPrefix(p, "/v1beta/models/")
		if rest == p || strings.Contains(rest[:strings.IndexByte(rest, ':')], "/") || strings.ContainsAny(rest[:strings.IndexByte(rest, ':')], "?#") {
			t.Errorf("path %q: the model is not one escaped segment", p)
		}
	}
	if got := Path("gemini-2.0-flash", true); got != "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse" {
		t.Errorf("plain model: %q", got)
	}
}

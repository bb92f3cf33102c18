package relay

import (
	"net/http"
	"unicode"
	"unicode/utf8"
)

// maxAttribution bounds the app attribution headers kept per request: they
// are stored in every generation record and logged, and a client could
// otherwise send up to the server's 1 MiB header limit in each.
const maxAttribution = 256

// referer is the app's URL (OpenRouter's HTTP-Referer, else Referer), made
// safe to store by attribution.
func referer(r *http.Request) string {
	if v := attribution(r.Header.Get("HTTP-Referer")); v != "" {
		return v
	}
	return attribution(r.Header.Get("Referer"))
}

// title is the app's name (X-Title, else X-OpenRouter-Title), made safe
// to store by attribution.
func title(r *http.Request) string {
	if v := attribution(r.Header.Get("X-Title")); v != "" {
		return v
	}
	return attribution(r.Header.Get("X-OpenRouter-Title"))
}

// attribution keeps at most maxAttribution bytes of v, cut at a character
// boundary, without control characters (NUL included) or invalid UTF-8:
// the value is shown in logs and the console, where those could forge
// lines or garble the output. (net/http already refuses most control
// characters in header values; this does not rely on it.)
func attribution(v string) string {
	if len(v) <= maxAttribution && printableASCII(v) {
		return v // the usual case, without a copy
	}
	out := make([]byte, 0, min(len(v), maxAttribution))
	for i := 0; i < len(v); {
		c, size := utf8.DecodeRuneInString(v[i:])
		i += size
		if (c == utf8.RuneError && size == 1) || unicode.IsControl(c) {
			continue
		}
		if len(out)+size > maxAttribution {
			break
		}
		out = append(out, v[i-size:i]...)
	}
	return string(out)
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

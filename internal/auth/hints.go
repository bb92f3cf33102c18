package auth

import (
	"strings"

	"github.com/switchyard-gw/switchyard/internal/apikey"
)

// foreign lists key shapes of other services. The most common mistake users
// of a gateway make is pairing its base URL with another provider's key (or
// the gateway's key with another provider's URL), so a 401 says which it is.
var foreign = []struct{ prefix, what string }{
	{"sk-proj-", "an OpenAI project key"},
	{"sk-svcacct-", "an OpenAI service-account key"},
	{"sk-admin-", "an OpenAI admin key"},
	{"sk-ant-", "an Anthropic key"},
	{"sk-or-", "an OpenRouter key"},
	{"AIza", "a Google AI Studio (Gemini) key"},
	{"gsk_", "a Groq key"},
	{"xai-", "an xAI key"},
	{"hf_", "a Hugging Face token"},
}

// Explain builds the 401 message for a credential that matched no key. raw is
// the Authorization value after "Bearer" (or the x-api-key value), untrimmed.
func Explain(raw string) string {
	key := strings.TrimSpace(raw)
	if key == "" {
		return "Missing API key. Send it as the header 'Authorization: Bearer sk-sy-…' (OpenAI SDKs do this from api_key / OPENAI_API_KEY)."
	}
	var b strings.Builder
	b.WriteString("Incorrect API key provided: ")
	b.WriteString(Mask(key))
	b.WriteString(".")
	switch {
	case strings.HasPrefix(strings.ToLower(key), "bearer"):
		b.WriteString(" The header says 'Bearer' twice; send 'Authorization: Bearer sk-sy-…' with the key only once.")
	case key != raw || strings.ContainsAny(key, " \t\r\n"):
		b.WriteString(" The key has extra whitespace around or inside it; copy it again without spaces or line breaks.")
	case len(key) > 1 && (key[0] == '"' || key[0] == '\'' || key[0] == '<'):
		b.WriteString(" The key is wrapped in quotes or brackets; send the bare key.")
	default:
		for _, f := range foreign {
			if strings.HasPrefix(key, f.prefix) {
				b.WriteString(" This looks like ")
				b.WriteString(f.what)
				b.WriteString(", not a key of this gateway (sk-sy-…). Use the key this gateway issued with its base URL, and the provider's own key only with the provider's own URL.")
				return b.String()
			}
		}
		if strings.HasPrefix(key, apikey.Prefix) {
			if err := apikey.Check(key); err != nil {
				b.WriteString(" The key fails its checksum check (")
				b.WriteString(err.Error())
				b.WriteString("); copy it again, whole, from where it was issued.")
				return b.String()
			}
		}
		if strings.HasPrefix(key, Prefix) {
			b.WriteString(" No such key on this gateway: it was deleted, or it was issued by another Switchyard instance. Check the key on the console's Keys page.")
		} else {
			b.WriteString(" This gateway issues keys that start with sk-sy-; check that the base URL and the key come from the same service.")
		}
	}
	return b.String()
}

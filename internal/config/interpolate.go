package config

import (
	"fmt"
	"strings"
)

// expandProblem is one ${...} in a scalar that could not be expanded.
type expandProblem struct {
	kind string // "unset", "empty", "syntax"
	name string // the variable, or the malformed text for "syntax"
}

func (p expandProblem) message(path string) string {
	switch p.kind {
	case "unset":
		fix := fmt.Sprintf("export it, or give a default with ${%s:-value}", p.name)
		if strings.HasPrefix(path, "providers[") {
			fix = "export it or remove the provider"
		}
		return fmt.Sprintf("environment variable %s is not set; %s", p.name, fix)
	case "empty":
		return fmt.Sprintf("environment variable %s is set but empty, and an api_key cannot be empty; export the key or remove the provider", p.name)
	}
	return fmt.Sprintf("%s is not a valid variable reference; write ${NAME} or ${NAME:-default} (NAME is letters, digits and _), or $${ for a literal ${", p.name)
}

// expand replaces ${NAME} and ${NAME:-default} in s with values from env.
// $${ is a literal ${; any other $ is kept as written. A ${NAME} whose
// variable is unset is a problem (never silently empty), and so is a set but
// empty one when s is an api_key. ${NAME:-default} uses default when NAME is
// unset or empty, as in the shell.
func expand(s string, env Env, apiKey bool) (string, []expandProblem) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	var probs []expandProblem
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				probs = append(probs, expandProblem{kind: "syntax", name: quoteRef(s[i:])})
				return "", probs
			}
			body := s[i+2 : i+2+end]
			i += 2 + end + 1
			name, def, hasDef := strings.Cut(body, ":-")
			if !validVarName(name) {
				probs = append(probs, expandProblem{kind: "syntax", name: quoteRef("${" + body + "}")})
				continue
			}
			v, ok := env(name)
			switch {
			case hasDef && v == "":
				v = def
			case !ok:
				probs = append(probs, expandProblem{kind: "unset", name: name})
			case v == "" && apiKey:
				probs = append(probs, expandProblem{kind: "empty", name: name})
			}
			b.WriteString(v)
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	if len(probs) > 0 {
		return "", probs
	}
	return b.String(), nil
}

// quoteRef quotes a malformed reference for a message, shortened; it is text
// from the file, never an expanded value.
func quoteRef(s string) string {
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return fmt.Sprintf("%q", s)
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Env looks up an environment variable (os.LookupEnv in production, a map in tests).
type Env func(name string) (string, bool)

// MapEnv is an Env over a fixed set of variables, for tests and for
// `config check` runs that must not see the real environment.
func MapEnv(vars map[string]string) Env {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// DefaultsSource is Config.Source when no file was read.
const DefaultsSource = "(defaults)"

// Load reads the YAML file at path (path == "" means no file: defaults plus env providers),
// interpolates ${VAR} from env, applies defaults, adds env-derived providers, and validates.
// Every problem is reported at once in a *ValidationError. A file that cannot be
// read is an ordinary error wrapping the fs error (errors.Is(err, fs.ErrNotExist) works).
// A nil env is an empty environment.
func Load(path string, env Env) (*Config, error) {
	if path == "" {
		return Parse(nil, DefaultsSource, env)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data, path, env)
}

// Parse is Load for bytes already read; source names them in messages.
func Parse(data []byte, source string, env Env) (*Config, error) {
	if env == nil {
		env = MapEnv(nil)
	}
	if source == "" {
		source = "(config)"
	}
	cfg := &Config{Source: source}
	root, perr := parseYAML(data)
	if perr != nil {
		return nil, &ValidationError{Source: source, Problems: []Problem{*perr}}
	}
	d := newDecoder(env)
	if root != nil {
		d.decode(root, reflect.ValueOf(cfg).Elem(), "")
	}

	listenFromEnv := cfg.complete(env)

	problems := slices.Clone(d.problems)
	if d.budget < 0 {
		// The decode stopped part way: what it left is not worth validating.
		return nil, &ValidationError{Source: source, Problems: cfg.scrub(problems)}
	}
	if err := cfg.Validate(); err != nil {
		for _, p := range err.(*ValidationError).Problems {
			if coveredBy(p.Path, d.problems) {
				// Already reported at decode time (a missing variable, a bad
				// number); "required" on top of it is noise.
				continue
			}
			if listenFromEnv && p.Path == "server.listen" {
				p.Message += " (the value comes from $SWITCHYARD_LISTEN)"
			}
			problems = append(problems, p)
		}
	}
	if len(problems) == 0 {
		return cfg, nil
	}
	problems = cfg.scrub(problems)
	for i := range problems {
		if problems[i].Line == 0 && !cfg.fromEnv(problems[i].Path, listenFromEnv) {
			problems[i].Line = d.lineOf(problems[i].Path)
		}
	}
	// File order reads best; problems with no line (from the environment) go last.
	sort.SliceStable(problems, func(i, j int) bool {
		li, lj := problems[i].Line, problems[j].Line
		return li != 0 && (lj == 0 || li < lj)
	})
	return nil, &ValidationError{Source: source, Problems: problems}
}

// fromEnv reports whether the value at path came from the environment rather
// than the file, so no line of the file should be blamed for it.
func (c *Config) fromEnv(path string, listenFromEnv bool) bool {
	if listenFromEnv && path == "server.listen" {
		return true
	}
	for i := range c.Providers {
		if c.Providers[i].FromEnv && within(path, fmt.Sprintf("providers[%d]", i)) {
			return true
		}
	}
	return false
}

// parseYAML returns the root value node of the one document in data, nil for
// an empty document, or a problem describing a syntax error.
func parseYAML(data []byte) (*yaml.Node, *Problem) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxProblem(err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, syntaxProblem(err)
	default:
		return nil, &Problem{Line: extra.Line, Message: "a second YAML document (after ---); a config file holds one document, so remove the separator and merge the two"}
	}
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil, nil
		}
		return doc.Content[0], nil
	}
	return &doc, nil
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

func syntaxProblem(err error) *Problem {
	msg := err.Error()
	p := &Problem{}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	p.Message = "YAML syntax error: " + msg + "; fix the file's syntax (indentation, quoting, a missing ':')"
	return p
}

// coveredBy reports whether path equals, or lies inside, the path of one of
// problems. A problem with no path (the whole file) covers nothing: a file
// that is not a mapping decodes to an empty config, which validates cleanly.
func coveredBy(path string, problems []Problem) bool {
	for _, q := range problems {
		if q.Path != "" && within(path, q.Path) {
			return true
		}
	}
	return false
}

// within reports whether path is outer or a path inside it.
func within(path, outer string) bool {
	if outer == "" || path == outer {
		return true
	}
	if !strings.HasPrefix(path, outer) {
		return false
	}
	c := path[len(outer)]
	return c == '.' || c == '['
}

// Problem is one thing wrong with a config.
type Problem struct {
	// Path locates the value, e.g. "providers[1].base_url"; empty for the file as a whole.
	Path string
	// Message says what is wrong and how to fix it.
	Message string
	// Line is the line in the file, or 0 when unknown (a value from the environment).
	Line int
}

// String renders "path: message (line N)".
func (p Problem) String() string {
	var b strings.Builder
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	if p.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", p.Line)
	}
	return b.String()
}

// ValidationError reports every problem found in one config.
type ValidationError struct {
	Source   string
	Problems []Problem
}

// Error is multi-line: a header naming the source and one indented line per problem.
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if len(e.Problems) == 1 {
		b.WriteString(": 1 problem:")
	} else {
		fmt.Fprintf(&b, ": %d problems:", len(e.Problems))
	}
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

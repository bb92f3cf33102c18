package config

import (
	"encoding"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/switchyard-gw/switchyard/internal/money"
)

// The decoder walks the yaml.Node tree into a Config itself, rather than
// calling yaml.Decoder with KnownFields(true), because that stops at the
// first failing scalar (a bad price aborts the whole decode), reports only
// line numbers, and cannot say which field a ${VAR} feeds. Walking the tree
// lets every problem carry its path, lets ${VAR} be expanded in every string
// scalar (header values included), and keeps expansion results out of messages.

const (
	// maxNodes bounds the values one document may expand to, so a handful of
	// nested aliases (a "billion laughs" document) cannot exhaust memory.
	maxNodes = 100_000
	// maxProblems bounds the problems collected from one document.
	maxProblems = 100
)

var (
	durationType = reflect.TypeFor[time.Duration]()
	secretType   = reflect.TypeFor[Secret]()
	nanosType    = reflect.TypeFor[money.Nanos]()
	textType     = reflect.TypeFor[encoding.TextUnmarshaler]()
)

type decoder struct {
	env      Env
	problems []Problem
	lines    map[string]int      // path → line, for problems found after decoding
	visiting map[*yaml.Node]bool // anchors being expanded, to catch cycles
	budget   int                 // values left before the document is too large
}

func newDecoder(env Env) *decoder {
	return &decoder{env: env, lines: map[string]int{"": 1}, visiting: map[*yaml.Node]bool{}, budget: maxNodes}
}

func (d *decoder) add(path string, line int, format string, args ...any) {
	switch {
	case len(d.problems) < maxProblems:
		d.problems = append(d.problems, Problem{Path: path, Line: line, Message: fmt.Sprintf(format, args...)})
	case len(d.problems) == maxProblems:
		d.problems = append(d.problems, Problem{Line: line, Message: fmt.Sprintf("more than %d problems; fix these and check again", maxProblems)})
	}
}

// lineOf returns the line of path, or of its nearest ancestor the file names.
func (d *decoder) lineOf(path string) int {
	for {
		if l, ok := d.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a single value"
	}
	return "something else"
}

// raw quotes the text of a scalar as written in the file (before ${VAR}
// expansion, so an expanded secret never reaches a message), shortened.
func raw(n *yaml.Node) string {
	s := n.Value
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return strconv.Quote(s)
}

// spend takes one value from the budget, reporting once when it runs out.
func (d *decoder) spend(n *yaml.Node, path string) bool {
	if d.budget--; d.budget < 0 {
		if d.budget == -1 {
			// Past the problem cap too: this is the one that explains the rest.
			d.problems = append(d.problems, Problem{Path: path, Line: n.Line,
				Message: fmt.Sprintf("the document expands to more than %d values (nested aliases?); simplify it", maxNodes)})
		}
		return false
	}
	return true
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if !d.spend(n, path) {
		return
	}
	if n.Kind == yaml.AliasNode {
		target := n.Alias
		if target == nil {
			return
		}
		if d.visiting[target] {
			d.add(path, n.Line, "alias *%s refers to a value that contains it; break the cycle", n.Value)
			return
		}
		d.visiting[target] = true
		d.decode(target, v, path)
		delete(d.visiting, target)
		return
	}
	if isNull(n) {
		return // absent: the field keeps its zero value and gets its default
	}

	t := v.Type()
	switch {
	case t == durationType:
		d.duration(n, v, path)
		return
	case t != secretType && reflect.PointerTo(t).Implements(textType):
		d.text(n, v, path)
		return
	}

	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.structure(n, v, path)
	case reflect.Slice:
		d.list(n, v, path)
	case reflect.Map:
		d.dict(n, v, path)
	case reflect.String:
		if s, ok := d.scalar(n, path, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s, ok := d.scalar(n, path, "a whole number")
		if !ok {
			return
		}
		i, err := strconv.ParseInt(strings.TrimSpace(s), 0, t.Bits())
		if err != nil {
			d.add(path, n.Line, "expected a whole number, got %s; write digits only, e.g. 3", raw(n))
			return
		}
		v.SetInt(i)
	case reflect.Bool:
		s, ok := d.scalar(n, path, "true or false")
		if !ok {
			return
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			d.add(path, n.Line, "expected true or false, got %s", raw(n))
			return
		}
		v.SetBool(b)
	default:
		// Only reachable if a field of a type this walker does not know is
		// added to Config; fail loudly in tests rather than ignore the value.
		d.add(path, n.Line, "internal error: cannot decode into %s", t)
	}
}

// scalar returns the expanded text of a scalar node, or reports that the
// node is not a scalar.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.add(path, n.Line, "expected %s, got %s", want, kindName(n))
		return "", false
	}
	s, probs := expand(n.Value, d.env, strings.HasSuffix(path, ".api_key"))
	for _, p := range probs {
		d.add(path, n.Line, "%s", p.message(path))
	}
	return s, len(probs) == 0
}

func (d *decoder) duration(n *yaml.Node, v reflect.Value, path string) {
	s, ok := d.scalar(n, path, "a duration")
	if !ok {
		return
	}
	s = strings.TrimSpace(s)
	dur, err := time.ParseDuration(s)
	if err != nil {
		if _, ierr := strconv.ParseInt(s, 10, 64); ierr == nil && s != "0" {
			example := "30s"
			if s == n.Value { // suggest from the file's own text, never from an expanded value
				example = s + "s"
			}
			d.add(path, n.Line, "duration %s has no unit; write e.g. %q or %q", raw(n), example, "10m")
		} else {
			d.add(path, n.Line, "expected a duration, got %s; write e.g. \"30s\", \"1m30s\" or \"500ms\"", raw(n))
		}
		return
	}
	v.SetInt(int64(dur))
}

func (d *decoder) text(n *yaml.Node, v reflect.Value, path string) {
	s, ok := d.scalar(n, path, "a single value")
	if !ok {
		return
	}
	u := v.Addr().Interface().(encoding.TextUnmarshaler)
	if err := u.UnmarshalText([]byte(s)); err != nil {
		if v.Type() == nanosType {
			d.add(path, n.Line, "price %s is %v; write US dollars per 1M tokens as a plain decimal, e.g. 2.50", raw(n), err)
			return
		}
		d.add(path, n.Line, "cannot read %s: %v", raw(n), err)
	}
}

func (d *decoder) list(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.add(path, n.Line, "expected a list, got %s; write [a, b] or one \"- item\" per line", kindName(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		p := path + "[" + strconv.Itoa(i) + "]"
		d.lines[p] = item.Line
		d.decode(item, s.Index(i), p)
	}
	v.Set(s)
}

func (d *decoder) dict(n *yaml.Node, v reflect.Value, path string) {
	pairs, ok := d.pairs(n, path)
	if !ok {
		return
	}
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		d.add(path, n.Line, "internal error: cannot decode into %s", t)
		return
	}
	m := reflect.MakeMapWithSize(t, len(pairs))
	for _, kv := range pairs {
		p := path + mapKeyPath(kv.key)
		d.lines[p] = kv.line
		elem := reflect.New(t.Elem()).Elem()
		d.decode(kv.value, elem, p)
		m.SetMapIndex(reflect.ValueOf(kv.key).Convert(t.Key()), elem)
	}
	v.Set(m)
}

func mapKeyPath(k string) string {
	for _, r := range k {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return "[" + strconv.Quote(k) + "]"
		}
	}
	if k == "" {
		return `[""]`
	}
	return "." + k
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string) {
	pairs, ok := d.pairs(n, path)
	if !ok {
		return
	}
	t := v.Type()
	fields := map[string]int{}
	var known []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		fields[name] = i
		known = append(known, name)
	}
	for _, kv := range pairs {
		p := kv.key
		if path != "" {
			p = path + "." + kv.key
		}
		d.lines[p] = kv.line
		i, ok := fields[kv.key]
		if !ok {
			msg := fmt.Sprintf("unknown key %q", kv.key)
			if s := closest(kv.key, known); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			where := "at the top level"
			if path != "" {
				where = "under " + path
			}
			d.add(p, kv.line, "%s; valid keys %s: %s", msg, where, strings.Join(known, ", "))
			continue
		}
		d.decode(kv.value, v.Field(i), p)
	}
}

type pair struct {
	key   string
	line  int
	value *yaml.Node
}

// pairs lists a mapping's entries with merge keys (<<: *anchor) applied:
// keys written in the mapping win over merged ones, and earlier merges win
// over later ones, as the YAML merge-key spec says.
func (d *decoder) pairs(n *yaml.Node, path string) ([]pair, bool) {
	if n.Kind != yaml.MappingNode {
		d.add(path, n.Line, "expected a mapping of keys to values, got %s", kindName(n))
		return nil, false
	}
	var own, merged []pair
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge" {
			merged = append(merged, d.merge(val, path)...)
			continue
		}
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			d.add(path, k.Line, "a key must be a plain name, got %s", kindName(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			d.add(p, k.Line, "key %q appears twice (first on line %d); keep one", k.Value, first)
			continue
		}
		seen[k.Value] = k.Line
		own = append(own, pair{key: k.Value, line: k.Line, value: val})
	}
	for _, kv := range merged {
		if _, dup := seen[kv.key]; dup {
			continue
		}
		seen[kv.key] = kv.line
		own = append(own, kv)
	}
	return own, true
}

// merge returns the pairs a merge key's value contributes: one mapping, or a list of them.
func (d *decoder) merge(n *yaml.Node, path string) []pair {
	if !d.spend(n, path) {
		return nil
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil || d.visiting[n.Alias] {
			d.add(path, n.Line, "merge of *%s refers to a value that contains it; break the cycle", n.Value)
			return nil
		}
		d.visiting[n.Alias] = true
		defer delete(d.visiting, n.Alias)
		return d.merge(n.Alias, path)
	}
	switch n.Kind {
	case yaml.MappingNode:
		ps, _ := d.pairs(n, path)
		return ps
	case yaml.SequenceNode:
		var all []pair
		for _, item := range n.Content {
			if item.Kind == yaml.SequenceNode {
				d.add(path, item.Line, "<< merges a mapping or a list of mappings, not a list of lists")
				continue
			}
			all = append(all, d.merge(item, path)...)
		}
		return all
	}
	d.add(path, n.Line, "<< merges a mapping or a list of mappings, got %s", kindName(n))
	return nil
}

// closest returns the candidate nearest to s when s looks like a typo of it
// (edit distance at most 2, and less than half its length), else "".
func closest(s string, candidates []string) string {
	best, bestD := "", 3
	ls := strings.ToLower(s)
	for _, c := range candidates {
		dist := editDistance(ls, strings.ToLower(c))
		if dist < bestD && dist*2 < len(c) {
			best, bestD = c, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64 // no typo is that long; keep the cost bounded
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// sortedKeys is used for stable messages listing names.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

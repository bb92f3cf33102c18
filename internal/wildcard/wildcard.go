// Package wildcard matches names against '*' patterns, as the catalogue
// ("gpt-*", "*") and key allow-lists use them.
package wildcard

// Match reports whether name matches pattern, where '*' matches any run of
// characters, '/' and ':' included (unlike path.Match). It backtracks only
// to the last star, so it is linear in practice and O(len(name)·len(pattern))
// at worst: names come from clients.
func Match(pattern, name string) bool {
	p, n := 0, 0
	star, mark := -1, 0
	for n < len(name) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, n
			p++
		case p < len(pattern) && pattern[p] == name[n]:
			p++
			n++
		case star >= 0:
			p = star + 1
			mark++
			n = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// Package jsonscan walks JSON in one validating pass, giving the byte spans
// of the values the caller reads, without allocating (Iter). It is for the
// stream hot path, where every upstream chunk must be checked and a few of
// its fields found or replaced in place: a general parser walks a chunk
// several times (validate, then index each value, then again for each nested
// lookup); this looks at each byte once.
package jsonscan

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// Kind is the type of a JSON value.
type Kind uint8

const (
	Null Kind = iota
	False
	True
	Number
	String
	Array
	Object
)

// ErrSyntax is returned for input that is not one valid JSON value of the
// expected kind.
var ErrSyntax = errors.New("jsonscan: invalid JSON")

// maxDepth bounds nesting, so a hostile chunk of a million '[' cannot grow
// the stack without limit.
const maxDepth = 512

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// value scans the value at b[i] (no leading space) and returns its kind and
// the index just past it.
func value(b []byte, i, depth int) (Kind, int, error) {
	if i >= len(b) {
		return 0, i, ErrSyntax
	}
	kind, ok := kindOf(b[i])
	if !ok {
		return 0, i, ErrSyntax
	}
	var end int
	var err error
	switch kind {
	case String:
		end, _, err = str(b, i)
	case Object, Array:
		end, err = container(b, i, depth+1, kind == Object)
	case Number:
		end, err = number(b, i)
	case True:
		end = literal(b, i, "true")
	case False:
		end = literal(b, i, "false")
	case Null:
		end = literal(b, i, "null")
	}
	return kind, end, err
}

// kindOf is the kind of value that starts with c; ok is false if none can.
func kindOf(c byte) (Kind, bool) {
	switch {
	case c == '"':
		return String, true
	case c == '{':
		return Object, true
	case c == '[':
		return Array, true
	case c == 't':
		return True, true
	case c == 'f':
		return False, true
	case c == 'n':
		return Null, true
	case c == '-' || (c >= '0' && c <= '9'):
		return Number, true
	}
	return 0, false
}

// literal returns the index past word at b[i], or -1 (which every caller's
// next bounds check turns into a syntax error) when it is not there.
func literal(b []byte, i int, word string) int {
	if len(b)-i >= len(word) && string(b[i:i+len(word)]) == word {
		return i + len(word)
	}
	return -1
}

// container scans the object (isObject) or array whose opening bracket is
// b[i] and returns the index past its closing one.
func container(b []byte, i, depth int, isObject bool) (int, error) {
	if depth > maxDepth {
		return i, ErrSyntax
	}
	closing := byte(']')
	if isObject {
		closing = '}'
	}
	i = skipSpace(b, i+1) // past the opening bracket
	if i < len(b) && b[i] == closing {
		return i + 1, nil
	}
	for {
		if isObject { // the member's name and colon
			if i >= len(b) || b[i] != '"' {
				return i, ErrSyntax
			}
			kEnd, _, err := str(b, i)
			if err != nil {
				return i, err
			}
			i = skipSpace(b, kEnd)
			if i >= len(b) || b[i] != ':' {
				return i, ErrSyntax
			}
			i = skipSpace(b, i+1)
		}
		_, vEnd, err := value(b, i, depth)
		if err != nil || vEnd < 0 {
			return i, ErrSyntax
		}
		i = skipSpace(b, vEnd)
		if i >= len(b) {
			return i, ErrSyntax
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case closing:
			return i + 1, nil
		default:
			return i, ErrSyntax
		}
	}
}

// ScanString validates the JSON string whose opening quote is b[i] and
// returns the index just past its closing quote.
func ScanString(b []byte, i int) (int, error) {
	if i >= len(b) || b[i] != '"' {
		return i, ErrSyntax
	}
	end, _, err := str(b, i)
	return end, err
}

// str scans the string whose opening quote is b[i]; it returns the index
// past the closing quote and whether the string holds escapes.
func str(b []byte, i int) (int, bool, error) {
	escaped := false
	i++
	for {
		i = plainRun(b, i)
		for i < len(b) && plain[b[i]] {
			i++
		}
		if i >= len(b) {
			return i, false, ErrSyntax
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(b) {
				return i, false, ErrSyntax
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return i, false, ErrSyntax
				}
				i += 6
			default:
				return i, false, ErrSyntax
			}
		default: // a control character
			return i, false, ErrSyntax
		}
	}
}

// plainRun skips the bytes from b[i] that a string holds as they are,
// eight at a time, and returns where the first that is not (or fewer than
// eight bytes) begins: of each 8-byte word it asks at once whether a byte
// is '"', '\\' or a control character. In each test a borrow can only
// flag bytes above a true match, so the lowest flagged byte is a true one.
func plainRun(b []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for i+8 <= len(b) {
		w := binary.LittleEndian.Uint64(b[i:])
		q, bs := w^(ones*'"'), w^(ones*'\\')
		stop := (q-ones)&^q | (bs-ones)&^bs | (w-ones*0x20)&^w
		if stop &= highs; stop != 0 {
			return i + bits.TrailingZeros64(stop)/8
		}
		i += 8
	}
	return i
}

// plain marks the bytes a string may hold as they are: all but '"', '\\'
// and the control characters.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func number(b []byte, i int) (int, error) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return i, ErrSyntax
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return i, ErrSyntax
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return i, ErrSyntax
		}
		i = j
	}
	return i, nil
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// AppendUnescaped appends the text of a JSON string's contents (raw, the
// bytes between the quotes, already validated) to dst, decoding escapes.
// Unpaired surrogates become U+FFFD, as encoding/json decodes them.
func AppendUnescaped(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			j := i + 1
			for j < len(raw) && raw[j] != '\\' {
				j++
			}
			dst = append(dst, raw[i:j]...)
			i = j
			continue
		}
		if i+1 >= len(raw) {
			return dst
		}
		switch raw[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(raw, i+2)
			if !ok {
				return dst
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if r2, ok2 := hex4(raw, i+2); ok2 && i+1 < len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						dst = utf8.AppendRune(dst, d)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, raw[i+1])
		}
		i += 2
	}
	return dst
}

func hex4(raw []byte, i int) (rune, bool) {
	if i+4 > len(raw) {
		return 0, false
	}
	var r rune
	for _, c := range raw[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

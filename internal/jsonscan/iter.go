package jsonscan

// Iter walks a JSON text in one validating pass, under the caller's
// control: the caller enters the objects and arrays it wants to read and
// skips the rest, so each byte is looked at once however deep the fields it
// needs are. A caller that enters a container must read it to its end (until
// NextKey or NextElem returns false). After the top-level value, End reports
// whether the whole text was valid; until then, results gathered are
// provisional.
type Iter struct {
	b     []byte
	i     int
	depth int
	first bool // the cursor is at the start of the current container
	err   error
}

// NewIter starts a walk of b.
func NewIter(b []byte) Iter { return Iter{b: b} }

func (it *Iter) fail() { it.err = ErrSyntax }

// Kind is the kind of the value at the cursor, without moving it; ok is
// false at an error or where no value can start.
func (it *Iter) Kind() (Kind, bool) {
	if it.err != nil {
		return 0, false
	}
	it.i = skipSpace(it.b, it.i)
	if it.i >= len(it.b) {
		return 0, false
	}
	switch c := it.b[it.i]; {
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

// Skip validates the value at the cursor and moves past it, returning its
// kind and span.
func (it *Iter) Skip() (kind Kind, start, end int) {
	if it.err != nil {
		return 0, it.i, it.i
	}
	start = skipSpace(it.b, it.i)
	kind, end, err := value(it.b, start, it.depth)
	if err != nil || end < 0 {
		it.fail()
		return 0, start, start
	}
	it.i = end
	return kind, start, end
}

// Enter moves into the object or array (open is '{' or '[') at the cursor.
func (it *Iter) enter(open byte) bool {
	if it.err != nil {
		return false
	}
	it.i = skipSpace(it.b, it.i)
	if it.i >= len(it.b) || it.b[it.i] != open || it.depth >= maxDepth {
		it.fail()
		return false
	}
	it.i++
	it.depth++
	it.first = true
	return true
}

// EnterObject moves into the object at the cursor; false if it is not one.
func (it *Iter) EnterObject() bool { return it.enter('{') }

// EnterArray moves into the array at the cursor; false if it is not one.
func (it *Iter) EnterArray() bool { return it.enter('[') }

// next moves to the next item of the current container (close is '}' or
// ']'): false, past the closing bracket, at its end.
func (it *Iter) next(close byte) bool {
	if it.err != nil {
		return false
	}
	i := skipSpace(it.b, it.i)
	if i >= len(it.b) {
		it.fail()
		return false
	}
	if it.b[i] == close {
		it.i = i + 1
		it.depth--
		it.first = false // the parent has now had a value
		return false
	}
	if !it.first {
		if it.b[i] != ',' {
			it.fail()
			return false
		}
		i = skipSpace(it.b, i+1)
	}
	it.first = false
	it.i = i
	return true
}

// NextKey moves to the next member of the current object and past its
// colon, returning the member's name (unescaped: then a copy); false at the
// end of the object (or at an error).
func (it *Iter) NextKey() ([]byte, bool) {
	if !it.next('}') {
		return nil, false
	}
	i := it.i
	if i >= len(it.b) || it.b[i] != '"' {
		it.fail()
		return nil, false
	}
	end, escaped, err := str(it.b, i)
	if err != nil {
		it.fail()
		return nil, false
	}
	key := it.b[i+1 : end-1]
	if escaped {
		key = AppendUnescaped(nil, key)
	}
	j := skipSpace(it.b, end)
	if j >= len(it.b) || it.b[j] != ':' {
		it.fail()
		return nil, false
	}
	it.i = j + 1
	return key, true
}

// NextElem moves to the next element of the current array; false at its
// end (or at an error).
func (it *Iter) NextElem() bool { return it.next(']') }

// End reports whether the walk was valid and nothing but whitespace follows
// the top-level value. Call it once that value has been read or skipped.
func (it *Iter) End() error {
	if it.err != nil {
		return it.err
	}
	if it.i == 0 || it.depth != 0 || skipSpace(it.b, it.i) != len(it.b) {
		return ErrSyntax
	}
	return nil
}

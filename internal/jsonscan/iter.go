package jsonscan

// Iter walks a JSON text in one validating pass, under the caller's
// control: the caller reads the objects and arrays it wants (Object, Array)
// and skips the rest (Skip), so each byte is looked at once however deep the
// fields it needs are. After the top-level value, End reports whether the
// whole text was valid; until then, results gathered are provisional.
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

// peek is the kind of the value at the cursor, without moving it; ok is
// false at an error or where no value can start.
func (it *Iter) peek() (Kind, bool) {
	if it.err != nil {
		return 0, false
	}
	it.i = skipSpace(it.b, it.i)
	if it.i >= len(it.b) {
		return 0, false
	}
	return kindOf(it.b[it.i])
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

// enter moves into the object or array (open is '{' or '[') at the cursor.
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

// Object calls fn for each member of the object at the cursor, with the
// cursor on the member's value, which fn must read or skip. A value that is
// not an object is skipped; Object reports whether it was one.
func (it *Iter) Object(fn func(key []byte)) bool {
	if k, _ := it.peek(); k != Object || !it.enter('{') {
		it.Skip()
		return false
	}
	it.Members(fn)
	return true
}

// ResumeObject continues a walk of b inside its top-level object at byte i,
// the end of a member's value: the bytes before i must be the start of an
// object and whole members, as a walk of another text with the same first
// i bytes found them (Stream in package openai resumes after the members
// every chunk of a stream repeats). Members then reads the rest.
func ResumeObject(b []byte, i int) Iter { return Iter{b: b, i: i, depth: 1} }

// Members calls fn for each further member of the object the cursor is
// inside, as Object does, and moves past its end.
func (it *Iter) Members(fn func(key []byte)) {
	for {
		key, ok := it.nextKey()
		if !ok {
			return
		}
		fn(key)
	}
}

// Pos is the cursor's offset in the text: after a value that was read or
// skipped, its end.
func (it *Iter) Pos() int { return it.i }

// Array calls fn for each element of the array at the cursor, with the
// cursor on the element, which fn must read or skip. A value that is not an
// array is skipped; Array reports whether it was one.
func (it *Iter) Array(fn func()) bool {
	if k, _ := it.peek(); k != Array || !it.enter('[') {
		it.Skip()
		return false
	}
	for it.next(']') {
		fn()
	}
	return true
}

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

// nextKey moves to the next member of the current object and past its
// colon, returning the member's name (unescaped: then a copy); false at the
// end of the object (or at an error).
func (it *Iter) nextKey() ([]byte, bool) {
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

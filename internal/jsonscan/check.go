package jsonscan

import (
	"bytes"
	"errors"
	"strconv"
	"sync"
)

// DefaultMaxDepth is the nesting bound Check callers use when the operator
// has not set one: far beyond any real request (a tool's JSON schema nests
// a few dozen levels at most) and far below what could grow a goroutine's
// stack in a recursive parser.
const DefaultMaxDepth = 128

// ErrDepth is returned by Check for input nested deeper than its bound.
var ErrDepth = errors.New("jsonscan: nested too deeply")

// DuplicateKeyError is returned by Check when an object holds one key
// twice. Parsers disagree on which one counts (gjson reads the first,
// encoding/json and Python the last), so a body with duplicates could be
// metered by the gateway as one request and served upstream as another.
type DuplicateKeyError struct{ Key string }

func (e *DuplicateKeyError) Error() string {
	return "jsonscan: duplicate key " + strconv.Quote(e.Key)
}

// Options bound what Check accepts.
type Options struct {
	MaxDepth   int  // arrays and objects nested at most this deep; <= 0 means DefaultMaxDepth
	UniqueKeys bool // refuse an object that holds the same key twice
}

// Check reports whether b is exactly one JSON value (space around it
// allowed) within o's bounds. It is the guard to run before any recursive
// parser sees data from outside: it keeps its own stack on the heap, so no
// input can grow the goroutine's stack, and it looks at each byte once.
// Keys are compared after unescaping ("a" and "\u0061" are the same key).
func Check(b []byte, o Options) error {
	limit := o.MaxDepth
	if limit <= 0 {
		limit = DefaultMaxDepth
	}
	c := checkers.Get().(*checker)
	c.b, c.unique = b, o.UniqueKeys
	err := c.run(limit)
	c.release()
	return err
}

// checkers are reused: a request's body is checked once, and the stack and
// key lists would otherwise be allocated for every one.
var checkers = sync.Pool{New: func() any {
	return &checker{stack: make([]frame, 0, 32), keys: make([][]byte, 0, 64)}
}}

// release drops what c points into (the body, key sets) and returns it to
// the pool, unless a hostile input grew it large.
func (c *checker) release() {
	if cap(c.stack) > 1024 || cap(c.keys) > 4096 {
		return
	}
	clear(c.stack[:cap(c.stack)])
	clear(c.keys[:cap(c.keys)])
	c.b, c.stack, c.keys = nil, c.stack[:0], c.keys[:0]
	checkers.Put(c)
}

// frame is one open container: its closing bracket and, for objects
// checked for duplicates, where its keys start in checker.keys (or a set,
// once it has many).
type frame struct {
	closing byte
	keys    int
	set     map[string]struct{}
}

type checker struct {
	b      []byte
	unique bool
	stack  []frame
	keys   [][]byte // the keys of every open object, innermost last
}

// manyKeys is where an object's duplicate check moves from comparing each
// new key with the earlier ones to a set (quadratic time on a hostile
// object of a million keys otherwise).
const manyKeys = 16

func (c *checker) run(limit int) error {
	b := c.b
	i := skipSpace(b, 0)
	for {
		// A value starts at i.
		if i >= len(b) {
			return ErrSyntax
		}
		switch b[i] {
		case '{', '[':
			if len(c.stack) >= limit {
				return ErrDepth
			}
			closing := byte(']')
			if b[i] == '{' {
				closing = '}'
			}
			c.stack = append(c.stack, frame{closing: closing, keys: len(c.keys)})
			i = skipSpace(b, i+1)
			if i < len(b) && b[i] == closing {
				c.pop()
				i++
				break
			}
			if closing == '}' {
				var err error
				if i, err = c.key(i); err != nil {
					return err
				}
			}
			continue
		case '"':
			end, _, err := str(b, i)
			if err != nil {
				return err
			}
			i = end
		case 't':
			i = literal(b, i, "true")
		case 'f':
			i = literal(b, i, "false")
		case 'n':
			i = literal(b, i, "null")
		default:
			if b[i] != '-' && (b[i] < '0' || b[i] > '9') {
				return ErrSyntax
			}
			var err error
			if i, err = number(b, i); err != nil {
				return err
			}
		}
		if i < 0 {
			return ErrSyntax
		}
		// After a value: close containers, or move to the next member.
		for {
			i = skipSpace(b, i)
			if len(c.stack) == 0 {
				if i != len(b) {
					return ErrSyntax
				}
				return nil
			}
			if i >= len(b) {
				return ErrSyntax
			}
			top := &c.stack[len(c.stack)-1]
			if b[i] == top.closing {
				c.pop()
				i++
				continue
			}
			if b[i] != ',' {
				return ErrSyntax
			}
			i = skipSpace(b, i+1)
			if top.closing == '}' {
				var err error
				if i, err = c.key(i); err != nil {
					return err
				}
			}
			break
		}
	}
}

func (c *checker) pop() {
	top := c.stack[len(c.stack)-1]
	c.keys = c.keys[:top.keys]
	c.stack = c.stack[:len(c.stack)-1]
}

// key reads an object member's key and colon at b[i], checks it against
// the object's earlier keys, and returns where the value starts.
func (c *checker) key(i int) (int, error) {
	b := c.b
	if i >= len(b) || b[i] != '"' {
		return i, ErrSyntax
	}
	end, escaped, err := str(b, i)
	if err != nil {
		return i, err
	}
	if c.unique {
		k := b[i+1 : end-1]
		if escaped {
			k = AppendUnescaped(nil, k)
		}
		if err := c.seen(k); err != nil {
			return i, err
		}
	}
	i = skipSpace(b, end)
	if i >= len(b) || b[i] != ':' {
		return i, ErrSyntax
	}
	return skipSpace(b, i+1), nil
}

// seen records k as a key of the innermost object; a second k is an error.
func (c *checker) seen(k []byte) error {
	top := &c.stack[len(c.stack)-1]
	if top.set != nil {
		if _, dup := top.set[string(k)]; dup {
			return &DuplicateKeyError{Key: string(k)}
		}
		top.set[string(k)] = struct{}{}
		return nil
	}
	earlier := c.keys[top.keys:]
	for _, e := range earlier {
		if bytes.Equal(e, k) {
			return &DuplicateKeyError{Key: string(k)}
		}
	}
	if len(earlier) < manyKeys {
		c.keys = append(c.keys, k)
		return nil
	}
	top.set = make(map[string]struct{}, 2*manyKeys)
	for _, e := range earlier {
		top.set[string(e)] = struct{}{}
	}
	top.set[string(k)] = struct{}{}
	c.keys = c.keys[:top.keys]
	return nil
}

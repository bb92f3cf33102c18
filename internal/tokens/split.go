package tokens

import (
	"iter"
	"unicode"
	"unicode/utf8"
)

// Text is encoded in chunks, for two reasons. tiktoken-go's byte-pair merge
// is quadratic in the length of one pre-tokenized piece (a run of letters,
// digits or punctuation): a 16 KB run of one letter takes ~100 ms, a 1 MB one
// minutes, and request bodies come from clients. And the encoder converts its
// whole input to runes more than once, so bounded chunks bound that memory.
//
// Chunks end where the encoders' pre-tokenizing patterns always end a piece,
// so for ordinary text the count is exactly that of the whole text; only a
// run longer than maxRun bytes with no such place is cut arbitrarily, which
// changes its count by a token or so.
const (
	maxChunk = 4096 // bytes; a chunk ends at the first cut point past this
	maxRun   = 512  // bytes; longest span left without a cut
)

// chunks yields consecutive substrings of text whose concatenation is text.
// Each ends at a cut point (see isCut) once it is at least maxChunk bytes
// long, or is cut by force at maxRun bytes past the last cut point.
func chunks(text string, maxChunk, maxRun int) iter.Seq[string] {
	return func(yield func(string) bool) {
		start, cut := 0, 0 // the pending chunk's start; the last cut point, >= start
		prev := utf8.RuneError
		for i := 0; i < len(text); {
			r, w := utf8.DecodeRuneInString(text[i:])
			forced := false
			switch {
			case i > start && isCut(prev, r):
				cut = i
			case i-cut >= maxRun:
				cut, forced = i, true
			}
			if cut > start && (forced || i-start >= maxChunk) {
				if !yield(text[start:cut]) {
					return
				}
				start = cut
			}
			prev = r
			i += w
		}
		if start < len(text) {
			yield(text[start:])
		}
	}
}

// isCut reports whether the position between runes prev and r ends a piece
// under both the cl100k_base and the o200k_base pattern, so that encoding the
// text on either side separately gives the same tokens as encoding it whole.
//
// Every alternative of both patterns matches one of: letters, optionally
// after one non-letter and (o200k) with combining marks and a trailing 's,
// 't... contraction; 1-3 digits; punctuation, optionally after one space and
// followed only by newlines (and, in o200k, slashes); or whitespace. None can
// hold a non-space followed by a space, or a letter followed by anything but
// a letter, a mark or an apostrophe. The only lookahead, (?!\S), sits in the
// whitespace alternative and so never looks across such a position.
func isCut(prev, r rune) bool {
	if r == ' ' {
		// unicode.IsPrint admits letters, marks, numbers, punctuation,
		// symbols and U+0020: no rune the patterns' \s matches but
		// the space itself.
		return prev != ' ' && unicode.IsPrint(prev)
	}
	return unicode.IsLetter(prev) && !unicode.IsLetter(r) && !unicode.IsMark(r) && r != '\''
}

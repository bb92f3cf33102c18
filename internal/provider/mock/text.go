package mock

import (
	"strings"
)

// answerPrefix opens every generated answer, so a reader of a demo or a log
// can tell the mock's words from a real model's at a glance.
const answerPrefix = "This is the mock model answering:"

// filler pads a generated answer when the user said too little to fill
// Options.Words.
const filler = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor"

// answer is the text of a reply and how it is cut into stream pieces.
type answer struct {
	text   string
	ends   []int  // piece i is text[ends[i-1]:ends[i]] (from 0 for i == 0)
	finish string // "stop" or "length"
}

func (a *answer) tokens() int { return len(a.ends) }

func (a *answer) piece(i int) string {
	start := 0
	if i > 0 {
		start = a.ends[i-1]
	}
	return a.text[start:a.ends[i]]
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\v' || c == '\f'
}

// countWords counts whitespace-separated words, the mock's unit of tokens.
func countWords(s string) int {
	n := 0
	in := false
	for i := 0; i < len(s); i++ {
		if isSpace(s[i]) {
			in = false
		} else if !in {
			in = true
			n++
		}
	}
	return n
}

// pieceEnds cuts text into stream pieces: a word and the whitespace after it,
// with any leading whitespace joined to the first piece, so that the pieces
// concatenate back to text exactly.
func pieceEnds(dst []int, text string) []int {
	i, n := 0, len(text)
	for i < n && isSpace(text[i]) {
		i++
	}
	for i < n {
		for i < n && !isSpace(text[i]) {
			i++
		}
		for i < n && isSpace(text[i]) {
			i++
		}
		dst = append(dst, i)
	}
	if len(dst) == 0 && n > 0 {
		dst = append(dst, n) // text that is all whitespace is one piece
	}
	return dst
}

// words is an iterator over the whitespace-separated words of s that does
// not allocate.
type words struct{ s string }

func (w *words) next() (string, bool) {
	i := 0
	for i < len(w.s) && isSpace(w.s[i]) {
		i++
	}
	if i == len(w.s) {
		w.s = ""
		return "", false
	}
	j := i
	for j < len(w.s) && !isSpace(w.s[j]) {
		j++
	}
	word := w.s[i:j]
	w.s = w.s[j:]
	return word, true
}

// generate builds the default answer: the prefix, then the words of the
// user's message, then filler, n words in all, separated by single spaces.
func generate(user string, n int) string {
	var b strings.Builder
	b.Grow(len(answerPrefix) + len(user) + len(filler) + 1)
	count := 0
	add := func(w string) {
		if count > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w)
		count++
	}
	for _, src := range [2]string{answerPrefix, user} {
		it := words{src}
		for count < n {
			w, ok := it.next()
			if !ok {
				break
			}
			add(w)
		}
	}
	for count < n {
		it := words{filler}
		for count < n {
			w, ok := it.next()
			if !ok {
				break
			}
			add(w)
		}
	}
	return b.String()
}

// makeAnswer decides the reply text and cuts it to maxTokens pieces when
// maxTokens > 0.
func (h *handler) makeAnswer(user string, maxTokens int) answer {
	a := answer{text: h.o.Reply, finish: "stop"}
	if a.text == "" {
		a.text = generate(user, h.words)
	}
	a.ends = pieceEnds(make([]int, 0, 16), a.text)
	if maxTokens > 0 && len(a.ends) > maxTokens {
		a.ends = a.ends[:maxTokens]
		// The whitespace after the last word kept is not part of the answer
		// once it has been cut there.
		a.text = strings.TrimRight(a.text[:a.ends[maxTokens-1]], " \n\t\r\v\f")
		a.ends[maxTokens-1] = len(a.text)
		a.finish = "length"
	}
	return a
}

// maxTokens reads the cap from the two request fields. max_tokens is the
// deprecated spelling of max_completion_tokens; when a client sends both, the
// smaller one binds. Zero or negative means no cap.
func maxTokens(maxTokens, maxCompletionTokens int) int {
	switch {
	case maxTokens <= 0:
		return max(maxCompletionTokens, 0)
	case maxCompletionTokens <= 0:
		return maxTokens
	default:
		return min(maxTokens, maxCompletionTokens)
	}
}

// piecedAnswer is a JSON answer cut into argumentPieces (JSON has too few
// spaces to stream word by word), each a token, and cut to maxTokens pieces
// when maxTokens > 0: a cut answer is not valid JSON, as a real model's is
// not when it runs out of tokens.
func piecedAnswer(text string, maxTokens int) answer {
	a := answer{text: text, finish: "stop"}
	end := 0
	for _, p := range argumentPieces(text) {
		end += len(p)
		a.ends = append(a.ends, end)
	}
	if maxTokens > 0 && len(a.ends) > maxTokens {
		a.ends = a.ends[:maxTokens]
		a.text = text[:a.ends[maxTokens-1]]
		a.finish = "length"
	}
	return a
}

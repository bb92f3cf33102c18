package llm

// Usage is token accounting for one generation, as the upstream reported it
// (or as the gateway estimated it, when Estimated is set).
type Usage struct {
	PromptTokens     int64
	CompletionTokens int64
	TotalTokens      int64
	CachedTokens     int64 // prompt tokens read from the provider's cache
	CacheWriteTokens int64 // prompt tokens written to the provider's cache
	ReasoningTokens  int64 // part of CompletionTokens
	// Present is true when the upstream reported usage at all.
	Present   bool
	Estimated bool
}

// MaxTextSample is how much of an answer's text a TextSample keeps.
const MaxTextSample = 256 << 10

// TextSample keeps the start of an answer's text (at most MaxTextSample
// bytes) and counts all of it: enough to estimate its tokens, by
// extrapolating from the start, without holding a never-ending answer in
// memory or tokenizing all of it.
type TextSample struct {
	Head  []byte
	Total int64
}

// Append adds b.
func (s *TextSample) Append(b []byte) {
	s.Total += int64(len(b))
	if room := MaxTextSample - len(s.Head); room > 0 {
		s.Head = append(s.Head, b[:min(room, len(b))]...)
	}
}

// AppendString adds t.
func (s *TextSample) AppendString(t string) {
	s.Total += int64(len(t))
	if room := MaxTextSample - len(s.Head); room > 0 {
		s.Head = append(s.Head, t[:min(room, len(t))]...)
	}
}

// Scale extrapolates n, a count over Head, to the whole text.
func (s *TextSample) Scale(n int64) int64 {
	if len(s.Head) == 0 || s.Total <= int64(len(s.Head)) {
		return n
	}
	return int64(float64(n) * float64(s.Total) / float64(len(s.Head)))
}

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

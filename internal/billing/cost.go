// Package billing prices usage and (with the ledger) charges it.
package billing

import (
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/money"
)

// Cost prices u at p (USD per 1M tokens). Cached prompt tokens are billed at
// the cached price when the model has one, else at the prompt price; cache
// writes at the cache-write price when set, else at the prompt price;
// reasoning tokens are part of completion tokens and billed as completion.
// A nil p is free.
func Cost(u llm.Usage, p *config.Pricing) money.Nanos {
	if p == nil {
		return 0
	}
	cached, writes := u.CachedTokens, u.CacheWriteTokens
	plain := u.PromptTokens - cached - writes
	if plain < 0 {
		plain, cached, writes = 0, min(cached, u.PromptTokens), 0
	}
	cachedPrice := p.CachedPrompt
	if cachedPrice == 0 {
		cachedPrice = p.Prompt
	}
	writePrice := p.CacheWrite
	if writePrice == 0 {
		writePrice = p.Prompt
	}
	// Sum the exact per-million products (in 128 bits: token counts come
	// from upstreams, which may lie) before the one rounding division.
	var total money.Sum
	total.Add(plain, p.Prompt)
	total.Add(cached, cachedPrice)
	total.Add(writes, writePrice)
	total.Add(u.CompletionTokens, p.Completion)
	return total.Nanos()
}

package server

import (
	"context"
	"time"

	"github.com/switchyard-gw/switchyard/internal/console"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// rankingsMode is console.rankings in the config in effect (a reload
// changes it).
func (s *Server) rankingsMode() string { return s.current().cfg.Console.Rankings }

// topUsage is the public Rankings page's one read of every account's
// usage: the usage rollups grouped by model or app, narrowed here to names
// and token totals (no key, account, cost or error figure leaves this
// function) and to the top n.
func (s *Server) topUsage(ctx context.Context, by string, from, to time.Time, n int) ([]console.Rank, error) {
	if by != "model" && by != "app" {
		return nil, nil
	}
	rows, err := s.store.Usage(ctx, store.UsageQuery{GroupBy: by, From: from, To: to})
	if err != nil {
		return nil, err
	}
	out := make([]console.Rank, 0, len(rows))
	for _, r := range rows {
		out = append(out, console.Rank{Name: r.Group, Tokens: r.TokensPrompt + r.TokensCompletion})
	}
	return console.TopRanks(out, n), nil
}

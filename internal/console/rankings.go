package console

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/switchyard-gw/switchyard/internal/admin"
)

// The Rankings page: the models and the apps (a request's X-Title, else
// its HTTP-Referer origin) with the most tokens in the last day, week or
// month. console.rankings decides who sees it: "members" (the default:
// a signed-in account its own traffic, the admin everyone's, through
// GET /api/v1/usage as the session's principal), "public" (anyone,
// signed in or not, everyone's traffic, through Options.TopUsage, which
// answers names and token totals only) or "off".

// Rankings modes (config.Console.Rankings).
const (
	RankingsPublic  = "public"
	RankingsMembers = "members"
	RankingsOff     = "off"
)

// Rank is one line of a ranking: a model's or an app's name and its
// tokens (prompt and completion). It is all that TopUsage may answer.
type Rank struct {
	Name   string
	Tokens int64
}

// rankTop is how many models and apps a ranking lists.
const rankTop = 10

// publicRankTTL is how long a public ranking is reused, so anonymous
// visitors cannot make the gateway read its rollups at every request.
const publicRankTTL = time.Minute

// rankPeriods are the page's periods: days back, today (UTC) included.
var rankPeriods = []struct {
	Value, Label string
	Days         int
}{{"day", "Today", 1}, {"week", "7 days", 7}, {"month", "30 days", 30}}

// rankingsPage is what templates/rankings.html renders.
type rankingsPage struct {
	Period  string
	Periods []struct {
		Value, Label string
		Days         int
	}
	From, To string // dates, both included
	Public   bool
	Models   []rankRow
	Apps     []rankRow
}

// rankRow is a Rank with its share of the top one's tokens
// (0–100, for a bar).
type rankRow struct {
	Rank
	Share int64
}

func rowsOf(ranks []Rank) []rankRow {
	out := make([]rankRow, 0, len(ranks))
	for _, r := range ranks {
		row := rankRow{Rank: r}
		if ranks[0].Tokens > 0 {
			row.Share = max(0, r.Tokens*100/ranks[0].Tokens)
		}
		out = append(out, row)
	}
	return out
}

// TopRanks sorts rows by tokens (then name), drops unnamed ones, and keeps
// the first n.
func TopRanks(rows []Rank, n int) []Rank {
	out := slices.DeleteFunc(slices.Clone(rows), func(r Rank) bool { return r.Name == "" })
	slices.SortFunc(out, func(a, b Rank) int {
		if c := cmp.Compare(b.Tokens, a.Tokens); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

func (c *Console) rankingsMode() string {
	if c.rankMode == nil {
		return RankingsMembers
	}
	switch m := c.rankMode(); m {
	case RankingsPublic, RankingsOff:
		return m
	}
	return RankingsMembers
}

// rankings serves GET /console/rankings?period=.
func (c *Console) rankings(w http.ResponseWriter, r *http.Request) {
	mode := c.rankingsMode()
	if mode == RankingsOff {
		c.notFound(w, r)
		return
	}
	if mode == RankingsMembers {
		c.signedIn(c.memberRankings)(w, r)
		return
	}
	// Public: a session, when there is one, only dresses the page (the
	// nav, who is signed in); the figures are everyone's either way.
	p := &page{Title: "Rankings", Nav: "rankings"}
	if s := c.session(r); s != nil {
		if who, err := c.resolve(r.Context(), s.principal); err == nil {
			s.who = who
			p.Who, p.CSRF = &s.who, s.csrf
		}
	}
	rp, from, to := c.rankForm(r)
	rp.Public = true
	p.Rankings = rp
	status := http.StatusOK
	for _, x := range []struct {
		by  string
		dst *[]rankRow
	}{{"model", &rp.Models}, {"app", &rp.Apps}} {
		ranks, err := c.publicRanks(r.Context(), x.by, from, to)
		if err != nil {
			c.log.Error("console rankings", "error", err.Error())
			p.Error, status = "The rankings could not be read; try again later.", http.StatusServiceUnavailable
			break
		}
		*x.dst = rowsOf(ranks)
	}
	c.render(w, r, status, "rankings", p)
}

// rankForm reads ?period= (default week) into the page and the range it
// means: from (included) to to (excluded), whole UTC days.
func (c *Console) rankForm(r *http.Request) (*rankingsPage, time.Time, time.Time) {
	rp := &rankingsPage{Period: "week", Periods: rankPeriods}
	days := 7
	for _, p := range rankPeriods {
		if p.Value == r.URL.Query().Get("period") {
			rp.Period, days = p.Value, p.Days
		}
	}
	today := c.now().UTC().Truncate(24 * time.Hour)
	from, to := today.AddDate(0, 0, 1-days), today.AddDate(0, 0, 1)
	rp.From, rp.To = from.Format(time.DateOnly), today.Format(time.DateOnly)
	return rp, from, to
}

// memberRankings is the members mode: the session's own account (the
// admin: every account), from GET /api/v1/usage.
func (c *Console) memberRankings(w http.ResponseWriter, r *http.Request, s *session) {
	rp, from, to := c.rankForm(r)
	p := &page{Title: "Rankings", Nav: "rankings", Who: &s.who, CSRF: s.csrf, Rankings: rp}
	status := http.StatusOK
	for _, x := range []struct {
		by  string
		dst *[]rankRow
	}{{"model", &rp.Models}, {"app", &rp.Apps}} {
		q := url.Values{"group_by": {x.by}, "from": {from.Format(time.DateOnly)}, "to": {to.Format(time.DateOnly)}}
		var list struct {
			Data []admin.UsageRow `json:"data"`
		}
		if err := c.call(r, s, http.MethodGet, "/usage?"+q.Encode(), nil, &list); err != nil {
			p.Error = joinErr(p.Error, "Reading usage by "+x.by+" failed: "+err.Error())
			status = statusOf(err)
			continue
		}
		ranks := make([]Rank, 0, len(list.Data))
		for _, u := range list.Data {
			ranks = append(ranks, Rank{Name: u.Group, Tokens: u.TokensPrompt + u.TokensCompletion})
		}
		*x.dst = rowsOf(TopRanks(ranks, rankTop))
	}
	c.render(w, r, status, "rankings", p)
}

// rankCache keeps public rankings for publicRankTTL.
type rankCache struct {
	mu sync.Mutex
	m  map[string]rankEntry
}

type rankEntry struct {
	at    time.Time
	ranks []Rank
}

// publicRanks is the top models or apps of every account from from to to,
// from TopUsage, reused for a minute.
func (c *Console) publicRanks(ctx context.Context, by string, from, to time.Time) ([]Rank, error) {
	if c.topUsage == nil {
		return nil, nil
	}
	key := by + " " + from.Format(time.DateOnly) + " " + to.Format(time.DateOnly)
	now := c.now()
	c.rankCache.mu.Lock()
	if c.rankCache.m == nil {
		c.rankCache.m = map[string]rankEntry{}
	}
	e, ok := c.rankCache.m[key]
	c.rankCache.mu.Unlock()
	if ok && now.Sub(e.at) < publicRankTTL && !now.Before(e.at) {
		return e.ranks, nil
	}
	ranks, err := c.topUsage(ctx, by, from, to, rankTop)
	if err != nil {
		return nil, err
	}
	ranks = TopRanks(ranks, rankTop)
	c.rankCache.mu.Lock()
	// Only the current periods' keys are worth keeping.
	for k, v := range c.rankCache.m {
		if now.Sub(v.at) >= publicRankTTL {
			delete(c.rankCache.m, k)
		}
	}
	c.rankCache.m[key] = rankEntry{at: now, ranks: ranks}
	c.rankCache.mu.Unlock()
	return ranks, nil
}

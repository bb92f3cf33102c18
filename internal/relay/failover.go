package relay

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	oa "github.com/switchyard-gw/switchyard/internal/api/openai"
	"github.com/switchyard-gw/switchyard/internal/jsonstr"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/routing"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// Budget bounds one request's attempts across routes and fallback models.
const maxAttempts = 6

// candidate is one way to serve a request: a resolved model and one of its routes.
type candidate struct {
	res *routing.Resolution
	t   routing.Target
}

// attemptRecord is one try, as the ledger stores it (generation.attempts).
type attemptRecord struct {
	Provider   string `json:"provider"`
	Model      string `json:"model"`
	Outcome    string `json:"outcome"` // ok | error | skipped
	Status     int    `json:"status,omitempty"`
	Error      string `json:"error,omitempty"`
	DurationMs int64  `json:"duration_ms"`
}

// prefs reads the OpenRouter "provider" object.
func prefs(raw []byte) (routing.Prefs, error) {
	var p struct {
		Order          []string `json:"order"`
		Only           []string `json:"only"`
		Ignore         []string `json:"ignore"`
		AllowFallbacks *bool    `json:"allow_fallbacks"`
		Sort           string   `json:"sort"`
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &p); err != nil {
			return routing.Prefs{}, llm.BadRequest("provider", "'provider' preferences are malformed: %v", err)
		}
		switch p.Sort {
		case "", "price", "latency", "throughput":
		default:
			return routing.Prefs{}, llm.BadRequest("provider.sort", "'provider.sort' must be price, latency or throughput")
		}
	}
	return routing.Prefs{Order: p.Order, Only: p.Only, Ignore: p.Ignore, AllowFallbacks: p.AllowFallbacks, Sort: p.Sort}, nil
}

// candidates lists, in order, every route worth trying: the requested
// model's routes as the strategy orders them, then each fallback model's
// (the request's "models", then the catalogue's fallbacks), unless the
// request forbids fallbacks.
//
// Every fallback is held to the key's allow-list like the requested model,
// or a key limited to "big-*" could be served anything by naming it in
// "models" and ignoring the requested model's providers. A request whose
// own "models" names a model the key may not use is refused (403
// model_not_allowed): the client asked for it. A catalogue fallback the
// key may not use is skipped: the client never asked for it.
func (rl *Relay) candidates(key *store.Key, res *routing.Resolution, req *oa.Request) ([]candidate, error) {
	p, err := prefs(req.Provider)
	if err != nil {
		return nil, err
	}
	requested := make([]*routing.Resolution, 0, len(req.Models))
	for _, name := range req.Models {
		if name == req.Model {
			continue
		}
		fr, err := rl.Resolver.Resolve(name)
		if err != nil {
			continue // an unknown fallback name is not served; the others may be
		}
		if err := allowed(key, fr, "models"); err != nil {
			return nil, err
		}
		requested = append(requested, fr)
	}
	session := req.SessionID
	if session == "" {
		session = req.User
	}
	var out []candidate
	var seen map[string]bool // only needed once fallbacks can repeat a route
	add := func(r *routing.Resolution) {
		strategy := routing.Strategy("")
		if r.Entry != nil {
			strategy = routing.Strategy(r.Entry.Strategy)
		}
		// A nil rng makes Plan use math/rand/v2's global source: no
		// allocation per request.
		for _, t := range routing.Plan(r.Targets, strategy, p, r.Variant, session, rl.Health, rl.priceOf(r), nil) {
			if seen != nil {
				id := routing.RouteID(t)
				if seen[id] {
					continue
				}
				seen[id] = true
			}
			out = append(out, candidate{r, t})
		}
	}
	add(res)
	if p.AllowFallbacks != nil && !*p.AllowFallbacks {
		if len(out) == 0 {
			return nil, ruledOut(res, p)
		}
		return out, nil
	}
	fallbacks := requested
	if res.Entry != nil {
		for _, name := range res.Entry.Fallbacks {
			if name == req.Model {
				continue
			}
			if fr, err := rl.Resolver.Resolve(name); err == nil && allowed(key, fr, "") == nil {
				fallbacks = append(fallbacks, fr)
			}
		}
	}
	if len(fallbacks) > 0 {
		seen = make(map[string]bool, len(out)+4)
		for _, c := range out {
			seen[routing.RouteID(c.t)] = true
		}
	}
	for _, fr := range fallbacks {
		add(fr)
	}
	if len(out) == 0 {
		if err := ruledOut(res, p); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ruledOut is the 400 for a request whose own provider preferences (only /
// ignore) left nothing to try: that is the client's choice, not an outage
// (a 503 would be retried by the SDKs).
func ruledOut(res *routing.Resolution, p routing.Prefs) error {
	if len(res.Targets) == 0 || (len(p.Only) == 0 && len(p.Ignore) == 0) {
		return nil
	}
	return llm.BadRequest("provider", "the request's provider preferences (only / ignore) rule out every provider of model '%s'; it is served by: %s",
		res.Requested, strings.Join(providerNames(res.Targets), ", "))
}

// providerNames lists the distinct providers of targets, in order.
func providerNames(targets []routing.Target) []string {
	var names []string
	for _, t := range targets {
		if !slices.Contains(names, t.Provider) {
			names = append(names, t.Provider)
		}
	}
	return names
}

// priceOf ranks routes for sort=price: prompt + completion per 1M tokens;
// -1 (unknown) sorts after every known price, so an unpriced route does not
// win :floor by looking free.
func (rl *Relay) priceOf(r *routing.Resolution) routing.PriceFunc {
	return func(t routing.Target) int64 {
		pr, _ := rl.price(r, t.Provider)
		if pr == nil {
			return -1
		}
		return int64(pr.Prompt + pr.Completion)
	}
}

// verdict is what one attempt's outcome means to the relay: the error's
// classification (llm.Classify: whether the request moves on to the next
// route, its metric label and ledger code), and how the route's health
// counts it, which is the relay's own.
type verdict struct {
	err      *llm.Error // what the client sees; nil for success
	code     string     // the ledger's code for err
	failover bool
	health   routing.Outcome
	kind     string // switchyard_upstream_errors_total{kind}
}

// judge classifies an attempt's outcome (err nil: success) and the
// upstream's status (0: none), the one place an attempt's error is read.
//
// The request moves on after connect errors, timeouts, 429 and 5xx, and a
// provider refusing the gateway's credentials; an upstream's own 4xx (bad
// parameter, context too long) would fail the same way anywhere and
// returns at once. Only a refusal the provider attributes to the gateway's
// credential (classifyStatus) is an AuthFailure; a 403 about the request
// is the client's and counts for nothing, so one client cannot take a
// route out for everyone.
func judge(err error, upstreamStatus int) verdict {
	if err == nil {
		return verdict{health: routing.Success}
	}
	cl := llm.Classify(err, upstreamStatus)
	v := verdict{err: cl.Err, code: cl.Code, failover: cl.Failover, health: routing.Neutral, kind: cl.Metric}
	switch {
	case cl.Credential:
		v.health = routing.AuthFailure
	case cl.Failover:
		v.health = routing.Failure
	}
	return v
}

// Cooling remembers routes that answered 429 with Retry-After, so that
// they are skipped until then.
type Cooling struct {
	mu    sync.Mutex
	until map[string]time.Time
}

// coolingSweep is the size at which set drops expired entries: routes are
// per provider/model, and a client can name many models under a pattern.
// An entry lives at most 5 minutes (retryAfter's cap), so after a sweep the
// map holds only the routes rate-limited in the last 5 minutes.
const coolingSweep = 1024

func (c *Cooling) set(id string, now, until time.Time) {
	c.mu.Lock()
	if c.until == nil {
		c.until = map[string]time.Time{}
	}
	if len(c.until) >= coolingSweep {
		for k, u := range c.until {
			if !now.Before(u) {
				delete(c.until, k)
			}
		}
	}
	c.until[id] = until
	c.mu.Unlock()
}

func (c *Cooling) active(id string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.until[id]
	if ok && !now.Before(u) {
		delete(c.until, id)
		return false
	}
	return ok
}

// retryAfter parses a Retry-After header (seconds or an HTTP date), capped at 5 minutes.
func retryAfter(v string, now time.Time) (time.Time, bool) {
	if v == "" {
		return time.Time{}, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return now.Add(min(time.Duration(s)*time.Second, 5*time.Minute)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		if limit := now.Add(5 * time.Minute); t.After(limit) {
			t = limit
		}
		return t, true
	}
	return time.Time{}, false
}

// attemptsJSON is the ledger's "attempts" column: a JSON array of the
// records, each as encoding/json would marshal an attemptRecord (fields
// in order, status and error omitted when empty), appended directly.
func attemptsJSON(a []attemptRecord) string {
	if len(a) == 0 {
		return "[]"
	}
	b := make([]byte, 0, 96*len(a))
	for i := range a {
		r := &a[i]
		if i == 0 {
			b = append(b, `[{"provider":`...)
		} else {
			b = append(b, `,{"provider":`...)
		}
		b = jsonstr.Append(b, r.Provider)
		b = append(b, `,"model":`...)
		b = jsonstr.Append(b, r.Model)
		b = append(b, `,"outcome":`...)
		b = jsonstr.Append(b, r.Outcome)
		if r.Status != 0 {
			b = append(b, `,"status":`...)
			b = strconv.AppendInt(b, int64(r.Status), 10)
		}
		if r.Error != "" {
			b = append(b, `,"error":`...)
			b = jsonstr.Append(b, r.Error)
		}
		b = append(b, `,"duration_ms":`...)
		b = strconv.AppendInt(b, r.DurationMs, 10)
		b = append(b, '}')
	}
	return string(append(b, ']'))
}

// metricModel is the bounded model label for metrics: the catalogue entry
// (a pattern stays the pattern), or "PROVIDER:*" for PROVIDER/MODEL names.
func metricModel(res *routing.Resolution) string {
	if res.Entry != nil {
		return res.Entry.ID
	}
	if len(res.Targets) > 0 {
		return res.Targets[0].Provider + ":*"
	}
	return "none"
}

package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-gw/switchyard/internal/clientaddr"
	"github.com/switchyard-gw/switchyard/internal/cluster"
	"github.com/switchyard-gw/switchyard/internal/config"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/relay"
)

// edges applies what the gateway decides about a request before routing
// it: CORS (answering preflights itself) and the failed-authentication
// block of the client's address. It reports whether the request goes on.
// The web console is left to its own rules (same-origin forms, its own
// sign-in limit).
func (s *Server) edges(sn *snapshot, w http.ResponseWriter, r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/console") {
		return true
	}
	// The OAuth code exchange is open to every origin on its own
	// (docs/oauth.md): the code and its verifier are the whole proof.
	if sn.cors != nil && !strings.HasSuffix(r.URL.Path, "/auth/keys") {
		if o := r.Header.Get("Origin"); o != "" && !sn.cors.apply(w, r, o) {
			return false
		}
	}
	if wait := s.guard.blocked(r, s.now); wait > 0 {
		secs := strconv.FormatInt(int64((wait+time.Second-1)/time.Second), 10)
		s.errs.write(w, r, relay.IngressOpenAI, &llm.Error{Kind: llm.KindPolicy, Status: http.StatusTooManyRequests,
			Type: "rate_limit_error", Code: "too_many_auth_failures", RetryAfter: secs,
			Message: "too many requests with an invalid or missing key from your address; retry after " + secs + " seconds with a valid key"})
		return false
	}
	return true
}

// cors is server.cors as a snapshot applies it.
type cors struct {
	any     bool
	origins map[string]bool
	maxAge  string
}

// newCORS is nil when no origin is allowed: CORS is off.
func newCORS(c *config.CORS) *cors {
	if len(c.AllowedOrigins) == 0 {
		return nil
	}
	out := &cors{origins: map[string]bool{}, maxAge: strconv.FormatInt(int64(c.MaxAge/time.Second), 10)}
	for _, o := range c.AllowedOrigins {
		if o == "*" {
			out.any = true
		}
		out.origins[strings.ToLower(strings.TrimRight(o, "/"))] = true
	}
	return out
}

// corsExposed are the response headers a browser app may read: the
// request id, retry advice and OpenAI's rate-limit headers.
const corsExposed = "X-Request-Id, Retry-After, X-Should-Retry, " +
	"X-Ratelimit-Limit-Requests, X-Ratelimit-Remaining-Requests, X-Ratelimit-Reset-Requests, " +
	"X-Ratelimit-Limit-Tokens, X-Ratelimit-Remaining-Tokens, X-Ratelimit-Reset-Tokens"

// corsMethods are the methods the API serves.
const corsMethods = "GET, POST, PATCH, DELETE"

// maxCORSHeaders bounds the Access-Control-Request-Headers a preflight may
// ask for (SDKs send a dozen short names).
const maxCORSHeaders = 2048

// apply adds the CORS headers of an allowed origin. A preflight (OPTIONS
// with Access-Control-Request-Method) is answered here: 204 for an allowed
// origin, 403 for another; apply reports whether the request goes on. A
// credential-less grant: keys travel in Authorization, never in cookies,
// so Access-Control-Allow-Credentials is never sent.
func (c *cors) apply(w http.ResponseWriter, r *http.Request, origin string) bool {
	allowed := c.any || c.origins[strings.ToLower(origin)]
	h := w.Header()
	h.Add("Vary", "Origin")
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	if !allowed {
		if !preflight {
			return true // served without CORS headers: the browser keeps the answer from the page
		}
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write(relay.IngressOpenAI.EncodeError(&llm.Error{Kind: llm.KindPolicy, Status: http.StatusForbidden,
			Type: "invalid_request_error", Code: "cors_origin_not_allowed",
			Message: "this gateway does not allow browser requests from " + origin + "; its operator can add the origin to server.cors.allowed_origins"},
			h.Get("X-Request-Id")))
		return false
	}
	if c.any {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	if !preflight {
		h.Set("Access-Control-Expose-Headers", corsExposed)
		return true
	}
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	h.Set("Access-Control-Allow-Methods", corsMethods)
	if asked := r.Header.Get("Access-Control-Request-Headers"); asked != "" && len(asked) <= maxCORSHeaders && headerList(asked) {
		h.Set("Access-Control-Allow-Headers", asked)
	}
	h.Set("Access-Control-Max-Age", c.maxAge)
	w.WriteHeader(http.StatusNoContent)
	return false
}

// headerList reports whether s is a comma-separated list of header names
// (RFC 9110 tokens), so that echoing it adds nothing else to the answer.
func headerList(s string) bool {
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			return false
		}
		for i := 0; i < len(name); i++ {
			ch := name[i]
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", ch) >= 0) {
				return false
			}
		}
	}
	return true
}

// proxiesOf parses server.trusted_proxies (validated at load).
func proxiesOf(c *config.Server) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range c.TrustedProxies {
		if pr, err := config.ParseProxy(p); err == nil {
			out = append(out, pr)
		}
	}
	return out
}

// authGuard counts failed authentications per client address in one-minute
// windows; an address past server.auth_failures_per_minute is refused
// until its window ends. Requests pay one atomic load while no address is
// blocked.
type authGuard struct {
	limit   func() (perMinute int, proxies []netip.Prefix)
	now     func() time.Time
	mu      sync.Mutex
	windows map[netip.Addr]*authWindow
	// until is the latest end of a block, in Unix nanoseconds; 0 or past:
	// nobody is blocked.
	until atomic.Int64

	// tallies, when the instance shares Redis (share), carries each
	// failure to a goroutine that counts it in a tally every instance adds
	// to: an address that spreads its attempts over the instances behind
	// a load balancer is blocked on all of them once the sum passes the
	// limit. Off the request path; a full queue drops the shared count of
	// a failure (the local count still holds).
	tallies chan tally
}

type tally struct {
	src       netip.Addr
	minute    time.Time // the shared windows are whole clock minutes
	perMinute int
}

// sharedTally is what the guard needs of the cluster (cluster.Bus).
type sharedTally interface {
	Count(ctx context.Context, key string, ttl time.Duration) (int64, error)
	Publish(ctx context.Context, topic string)
}

type authWindow struct {
	start    time.Time
	failures int
}

// authWindowLen is the window failures are counted in.
const authWindowLen = time.Minute

// maxAuthWindows bounds the addresses tracked at once; when full, windows
// that ended are dropped, and failures of new addresses are not counted
// until some end.
const maxAuthWindows = 100_000

func newAuthGuard(now func() time.Time, limit func() (int, []netip.Prefix)) *authGuard {
	return &authGuard{limit: limit, now: now, windows: map[netip.Addr]*authWindow{}}
}

// fail counts one failed authentication of r's client.
func (g *authGuard) fail(r *http.Request) {
	perMinute, proxies := g.limit()
	if perMinute < 0 {
		return
	}
	src := clientaddr.Source(clientaddr.Of(r, proxies))
	if !src.IsValid() {
		return
	}
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	win := g.windows[src]
	if win == nil || now.Sub(win.start) >= authWindowLen {
		if win == nil && len(g.windows) >= maxAuthWindows {
			g.sweep(now)
			if len(g.windows) >= maxAuthWindows {
				return
			}
		}
		win = &authWindow{start: now}
		g.windows[src] = win
	}
	win.failures++
	if win.failures > perMinute {
		if end := win.start.Add(authWindowLen).UnixNano(); end > g.until.Load() {
			g.until.Store(end)
		}
	}
	if g.tallies != nil {
		select {
		case g.tallies <- tally{src: src, minute: now.Truncate(authWindowLen), perMinute: perMinute}:
		default:
		}
	}
}

// share counts failures in sh's shared tally as well, until stop is
// closed: when an address's failures over every instance in one clock
// minute pass the limit, this instance blocks it to the minute's end and
// tells the others (cluster.AuthBlock), which block it too (blockUntil).
// While Redis fails, each instance counts alone, as without it.
func (g *authGuard) share(sh sharedTally, log *slog.Logger, stop <-chan struct{}) {
	g.tallies = make(chan tally, 1024)
	go func() {
		failing := false
		for {
			var t tally
			select {
			case <-stop:
				return
			case t = <-g.tallies:
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			key := "switchyard:authfail:" + t.src.String() + ":" + strconv.FormatInt(t.minute.Unix(), 10)
			n, err := sh.Count(ctx, key, 2*authWindowLen)
			cancel()
			if err != nil {
				if !failing {
					failing = true
					log.Warn("failed authentications are counted per instance until Redis answers again", slog.String("error", err.Error()))
				}
				continue
			}
			if failing {
				failing = false
				log.Info("failed authentications are counted across instances again")
			}
			if n == int64(t.perMinute)+1 { // announced once, by the instance that crossed
				until := t.minute.Add(authWindowLen)
				g.blockUntil(t.src, until)
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				sh.Publish(ctx, cluster.AuthBlockNotice(t.src.String(), until))
				cancel()
			}
		}
	}()
}

// blockUntil refuses src until until (another instance saw its failures
// pass the limit, or the shared tally did).
func (g *authGuard) blockUntil(src netip.Addr, until time.Time) {
	perMinute, _ := g.limit()
	if perMinute < 0 || !src.IsValid() || !until.After(g.now()) {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if win := g.windows[src]; win == nil && len(g.windows) >= maxAuthWindows {
		g.sweep(g.now())
		if len(g.windows) >= maxAuthWindows {
			return
		}
	}
	// A window that ends at until and holds one failure more than allowed.
	g.windows[src] = &authWindow{start: until.Add(-authWindowLen), failures: perMinute + 1}
	if end := until.UnixNano(); end > g.until.Load() {
		g.until.Store(end)
	}
}

// blocked is how long r's client stays refused, or 0.
func (g *authGuard) blocked(r *http.Request, clock func() time.Time) time.Duration {
	until := g.until.Load()
	if until == 0 {
		return 0 // the common case: no clock read, no lock
	}
	now := clock()
	if now.UnixNano() >= until {
		g.until.CompareAndSwap(until, 0)
		return 0
	}
	perMinute, proxies := g.limit()
	if perMinute < 0 {
		return 0
	}
	src := clientaddr.Source(clientaddr.Of(r, proxies))
	g.mu.Lock()
	defer g.mu.Unlock()
	win := g.windows[src]
	if win == nil || win.failures <= perMinute {
		return 0
	}
	return max(0, win.start.Add(authWindowLen).Sub(now))
}

// sweep drops the windows that have ended; mu is held.
func (g *authGuard) sweep(now time.Time) {
	for a, w := range g.windows {
		if now.Sub(w.start) >= authWindowLen {
			delete(g.windows, a)
		}
	}
}

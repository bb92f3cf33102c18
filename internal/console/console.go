// Package console is the web console: server-rendered pages (html/template
// and htmx, embedded in the binary) at / for browsers and under /console/.
// A browser signs in with the admin key, a management key, or a console
// user's email and password; the session, named by an HttpOnly cookie,
// keeps who signed in (a key's hash or a user's id, never the key) in the
// gateway's store, so it survives restarts and works on every instance.
// Everything the console changes it changes by calling the gateway's own
// management API in-process as the session's principal (auth.Principal, in
// the request's context, which no HTTP header can set), so what it may do
// is exactly what that key, or the user's account key, may do with curl.
package console

import (
	"context"
	"crypto/subtle"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/clientaddr"
	"github.com/switchyard-gw/switchyard/internal/failwindow"
	"github.com/switchyard-gw/switchyard/internal/store"
)

//go:embed assets templates
var files embed.FS

// Options configure a Console.
type Options struct {
	// API serves the management API (the gateway itself): the console's
	// calls go to it as requests to /api/v1/… with the session's key.
	API http.Handler
	// Verify says whether key may sign in (an admin or management key in
	// use) and who it is; its error's text is shown to the user.
	Verify func(key string) (Identity, error)
	// ClientAddr is the address failed sign-ins are counted against
	// (the gateway's reading of server.trusted_proxies); nil: the
	// connection's peer.
	ClientAddr func(*http.Request) string
	// SignedIn, when set, is told of every sign-in attempt: who (on
	// success), or why not.
	SignedIn func(r *http.Request, who Identity, err error)
	// SignIn checks a console user's email and password; any error is
	// shown as "wrong email or password".
	SignIn func(ctx context.Context, email, password string) (Identity, error)
	// Resolve says who a session's principal is now, at each request; an
	// error (a key disabled or deleted, a user disabled or deleted) ends
	// the session.
	Resolve func(ctx context.Context, p auth.Principal) (Identity, error)
	// Sessions, when set, keeps sessions in the store; else in memory.
	Sessions store.Sessions
	// RegistrationOpen says whether people may register themselves
	// (POST /api/v1/register); nil: never.
	RegistrationOpen func() bool
	// RankingsMode says who sees the Rankings page (console.rankings:
	// RankingsPublic, RankingsMembers or RankingsOff), read at each
	// request; nil: members.
	RankingsMode func() string
	// TopUsage answers, for the public Rankings page, the n models or
	// apps (by "model" or "app") with the most tokens from from to to
	// (excluded) across every account: names and token totals only.
	TopUsage func(ctx context.Context, by string, from, to time.Time, n int) ([]Rank, error)
	Now      func() time.Time
	Log      *slog.Logger
	// Sessions: at most MaxSessions, each ending SessionTTL after sign-in
	// or SessionIdle after its last request. Zero values take the defaults.
	MaxSessions int
	SessionTTL  time.Duration
	SessionIdle time.Duration
}

// Defaults of Options.
const (
	DefaultMaxSessions = 10000
	DefaultSessionTTL  = 12 * time.Hour
	DefaultSessionIdle = time.Hour
	// Failed sign-ins allowed per client address per minute.
	signInFailures = 5
	signInWindow   = time.Minute
	// Failed password sign-ins allowed per email (whichever address they
	// come from) per quarter hour.
	userFailures = 10
	userWindow   = 15 * time.Minute
	// Addresses whose failures are tracked at once.
	trackedAddresses = 10000
	// A sign-in or key form is a few hundred bytes.
	maxFormBody = 64 << 10
)

// csp is the pages' Content-Security-Policy.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// CookieName is the session cookie's name.
const CookieName = "switchyard_session"

// Console serves the console's pages and assets.
type Console struct {
	api       http.Handler
	addr      func(*http.Request) string
	onSignIn  func(*http.Request, Identity, error)
	verify    func(string) (Identity, error)
	signInFn  func(context.Context, string, string) (Identity, error)
	resolve   func(context.Context, auth.Principal) (Identity, error)
	regOpen   func() bool
	rankMode  func() string
	topUsage  func(context.Context, string, time.Time, time.Time, int) ([]Rank, error)
	rankCache rankCache
	now       func() time.Time
	log       *slog.Logger
	sessions  sessionTable
	failures  *failwindow.Counter
	// userFails counts failed password sign-ins per email.
	userFails *failwindow.Counter
	pages     map[string]*template.Template
	assets    http.Handler
	mux       *http.ServeMux
}

// New builds a Console.
func New(o Options) *Console {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.ClientAddr == nil {
		o.ClientAddr = clientaddr.Peer
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = DefaultMaxSessions
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = DefaultSessionTTL
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = DefaultSessionIdle
	}
	c := &Console{
		api: o.API, addr: o.ClientAddr, onSignIn: o.SignedIn, verify: o.Verify, signInFn: o.SignIn, resolve: o.Resolve, regOpen: o.RegistrationOpen, rankMode: o.RankingsMode, topUsage: o.TopUsage, now: o.Now, log: o.Log,
		failures:  failwindow.New(signInFailures, signInWindow, trackedAddresses, o.Now),
		userFails: failwindow.New(userFailures, userWindow, trackedAddresses, o.Now),
		pages:     map[string]*template.Template{},
	}
	if o.Sessions != nil {
		c.sessions = &storedSessions{st: o.Sessions, max: o.MaxSessions, ttl: o.SessionTTL, idle: o.SessionIdle, now: o.Now, log: o.Log}
	} else {
		c.sessions = newSessions(o.MaxSessions, o.SessionTTL, o.SessionIdle, o.Now)
	}
	if c.regOpen == nil {
		c.regOpen = func() bool { return false }
	}
	for _, p := range []string{"signin", "connect", "keys", "notfound", "password", "register", "generations", "generation", "models", "providers", "accounts", "consent", "usage", "rankings", "playground", "key", "users"} {
		c.pages[p] = template.Must(template.New("").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+p+".html"))
	}
	sub, _ := fs.Sub(files, "assets")
	c.assets = http.StripPrefix("/console/assets/", http.FileServerFS(sub))

	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", c.home)
	m.HandleFunc("GET /console", c.home)
	m.HandleFunc("GET /console/{$}", c.home)
	m.HandleFunc("GET /console/assets/", c.asset)
	m.HandleFunc("GET /console/signin", c.signInPage)
	m.HandleFunc("POST /console/signin", c.signIn)
	m.HandleFunc("POST /console/signout", c.signedIn(c.signOut))
	m.HandleFunc("GET /console/connect", c.signedIn(c.connect))
	m.HandleFunc("GET /console/keys", c.signedIn(c.keys))
	m.HandleFunc("POST /console/keys", c.signedIn(c.createKey))
	m.HandleFunc("POST /console/keys/{hash}/{action}", c.signedIn(c.keyAction))
	m.HandleFunc("GET /console/keys/{hash}", c.signedIn(c.keyPage))
	m.HandleFunc("POST /console/keys/{hash}", c.signedIn(c.editKey))
	m.HandleFunc("GET /console/users", c.signedIn(c.users))
	m.HandleFunc("POST /console/users", c.signedIn(c.createUser))
	m.HandleFunc("POST /console/users/{id}/{action}", c.signedIn(c.userAction))
	m.HandleFunc("GET /console/generations", c.signedIn(c.generations))
	m.HandleFunc("GET /console/generations/{id}", c.signedIn(c.generation))
	m.HandleFunc("GET /console/models", c.signedIn(c.models))
	m.HandleFunc("GET /console/providers", c.signedIn(c.providers))
	m.HandleFunc("POST /console/providers/add", c.signedIn(c.addProvider))
	m.HandleFunc("POST /console/providers/edit", c.signedIn(c.editProvider))
	m.HandleFunc("POST /console/providers/delete", c.signedIn(c.deleteProvider))
	m.HandleFunc("POST /console/providers/models", c.signedIn(c.addModel))
	m.HandleFunc("POST /console/providers/models/delete", c.signedIn(c.deleteModel))
	m.HandleFunc("GET /console/register", c.registerPage)
	m.HandleFunc("POST /console/register", c.register)
	m.HandleFunc("GET /console/password", c.signedIn(c.passwordPage))
	m.HandleFunc("POST /console/password", c.signedIn(c.changePassword))
	m.HandleFunc("GET /console/accounts", c.signedIn(c.accounts))
	m.HandleFunc("POST /console/accounts/{id}/topup", c.signedIn(c.topUp))
	m.HandleFunc("POST /console/redeem-codes", c.signedIn(c.generateCodes))
	m.HandleFunc("POST /console/redeem-codes/{id}/void", c.signedIn(c.voidCodes))
	m.HandleFunc("POST /console/redeem", c.signedIn(c.redeem))
	m.HandleFunc("GET /auth", c.signedIn(c.authorize))
	m.HandleFunc("POST /auth", c.signedIn(c.decide))
	m.HandleFunc("GET /console/usage", c.signedIn(c.usage))
	m.HandleFunc("GET /console/usage.csv", c.signedIn(c.usageCSV))
	m.HandleFunc("GET /console/rankings", c.rankings)
	m.HandleFunc("GET /console/playground", c.signedIn(c.playground))
	m.HandleFunc("/", c.notFound)
	c.mux = m
	return c
}

// ServeHTTP serves / (for a browser), /console and everything under it.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// The pages load only their own scripts and styles, are never framed,
	// and send no Referer (a key's hash is in some URLs).
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if r.Method == http.MethodPost {
		if !sameOrigin(r) {
			c.render(w, r, http.StatusForbidden, "notfound", &page{Title: "Forbidden", Error: "This form was sent from another site; the console refuses it. Reload the page and try again."})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	}
	c.mux.ServeHTTP(w, r)
}

// sameOrigin refuses a state-changing request a browser says came from
// another site (Origin, else Sec-Fetch-Site). It guards sign-in, which has
// no session yet to hold a CSRF token; signed-in requests check the token
// as well.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "null" {
		// A plain (not htmx) form post from a page with Referrer-Policy
		// no-referrer carries "Origin: null"; the browser's own
		// Sec-Fetch-Site still tells where it came from.
		return r.Header.Get("Sec-Fetch-Site") == "same-origin"
	}
	if o != "" {
		u, err := url.Parse(o)
		return err == nil && strings.EqualFold(u.Host, r.Host)
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return true
	}
	return false
}

func (c *Console) asset(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	c.assets.ServeHTTP(w, r)
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusNotFound, "notfound", &page{Title: "Not found", Error: "There is no console page at " + r.URL.Path + "."})
}

// home sends a signed-in browser to its first page, and anyone else to
// sign-in.
func (c *Console) home(w http.ResponseWriter, r *http.Request) {
	if c.session(r) != nil {
		http.Redirect(w, r, "/console/connect", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
}

// session is the request's live session, or nil.
func (c *Console) session(r *http.Request) *session {
	ck, err := r.Cookie(CookieName)
	if err != nil {
		return nil
	}
	return c.sessions.get(r.Context(), ck.Value)
}

// signedIn runs h for a request with a live session, and, when it changes
// something, the session's CSRF token; otherwise it sends the browser to
// sign in (or refuses a POST).
func (c *Console) signedIn(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := c.session(r)
		if s != nil {
			// A key disabled, expired or deleted since sign-in, or a user
			// disabled or deleted, ends its sessions at their next request.
			who, err := c.resolve(r.Context(), s.principal)
			if err != nil {
				c.sessions.revoke(r.Context(), s.id)
				s = nil
			} else {
				s.who = who
			}
		}
		if s == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, signInURL(r), http.StatusSeeOther)
				return
			}
			c.render(w, r, http.StatusUnauthorized, "signin", &page{Title: "Sign in", Error: "Your session has ended; sign in again."})
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			got := r.Header.Get("X-CSRF-Token")
			if got == "" {
				got = r.PostFormValue("csrf")
			}
			if subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) != 1 {
				c.render(w, r, http.StatusForbidden, "notfound", &page{Title: "Forbidden", Who: &s.who, CSRF: s.csrf,
					Error: "The form's security token is missing or stale. Reload the page and try again."})
				return
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r, s)
	}
}

func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	next := r.URL.Query().Get("next")
	if c.session(r) != nil {
		if next == "" {
			next = "/console/connect"
		}
		http.Redirect(w, r, afterSignIn(next), http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "signin", &page{Title: "Sign in", Next: next})
}

// tooMany answers a sign-in refused for wait by a failure limit.
func (c *Console) tooMany(w http.ResponseWriter, r *http.Request, wait time.Duration, whose string, p *page) {
	secs := int((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	p.Title = "Sign in"
	p.Error = "Too many failed sign-ins " + whose + "; try again in " + strconv.Itoa(secs) + " seconds."
	c.render(w, r, http.StatusTooManyRequests, "signin", p)
}

// signIn serves POST /console/signin: a key, or an email and a password →
// session cookie.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	addr := c.addr(r)
	if wait := c.failures.Blocked(addr); wait > 0 {
		c.tooMany(w, r, wait, "from your address", &page{Next: r.PostFormValue("next")})
		return
	}
	key := strings.TrimSpace(r.PostFormValue("key"))
	email := store.NormalEmail(r.PostFormValue("email"))
	if key == "" && email != "" {
		c.signInUser(w, r, addr, email)
		return
	}
	if key == "" {
		c.render(w, r, http.StatusBadRequest, "signin", &page{Title: "Sign in", Next: r.PostFormValue("next"), Error: "Enter the admin key or a management key, or your email and password."})
		return
	}
	who, err := c.verify(key)
	if c.onSignIn != nil {
		c.onSignIn(r, who, err)
	}
	if err != nil {
		c.failures.Fail(addr)
		c.log.Info("console sign-in refused", slog.String("addr", addr), slog.String("reason", err.Error()))
		c.render(w, r, http.StatusUnauthorized, "signin", &page{Title: "Sign in", Next: r.PostFormValue("next"), Error: "Sign-in refused: " + err.Error()})
		return
	}
	c.startSession(w, r, who)
	c.log.Info("console sign-in", slog.String("addr", addr), slog.String("key", who.Label), slog.String("kind", who.Kind))
}

// signInUser signs in with an email and a password. Failures count
// against the address and against the email, so that guessing one user's
// password from many addresses is limited too. Every refusal says the
// same, whether the email exists or not.
func (c *Console) signInUser(w http.ResponseWriter, r *http.Request, addr, email string) {
	p := &page{Email: email}
	if wait := c.userFails.Blocked(email); wait > 0 {
		c.tooMany(w, r, wait, "for this email", p)
		return
	}
	pw := r.PostFormValue("password")
	if pw == "" {
		p.Title, p.Error = "Sign in", "Enter your password."
		c.render(w, r, http.StatusBadRequest, "signin", p)
		return
	}
	who, err := c.signInFn(r.Context(), email, pw)
	if c.onSignIn != nil {
		c.onSignIn(r, who, err)
	}
	if err != nil {
		c.failures.Fail(addr)
		c.userFails.Fail(email)
		c.log.Info("console sign-in refused", slog.String("addr", addr), slog.String("reason", err.Error()))
		p.Title, p.Error = "Sign in", "Sign-in refused: wrong email or password."
		c.render(w, r, http.StatusUnauthorized, "signin", p)
		return
	}
	c.startSession(w, r, who)
	c.log.Info("console sign-in", slog.String("addr", addr), slog.String("user", who.UserID), slog.String("role", who.Role))
}

// startSession creates a session for who, sets its cookie, and sends the
// browser to the Keys page.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request, who Identity) {
	s, err := c.sessions.create(r.Context(), who.Principal())
	if err != nil {
		c.log.Error("console session", slog.String("error", err.Error()))
		c.render(w, r, http.StatusServiceUnavailable, "signin", &page{Title: "Sign in", Error: "The gateway could not start a session (its database did not answer); try again."})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: s.id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	http.Redirect(w, r, afterSignIn(r.PostFormValue("next")), http.StatusSeeOther)
}

// signOut serves POST /console/signout: the session ends here and now.
func (c *Console) signOut(w http.ResponseWriter, r *http.Request, s *session) {
	c.sessions.revoke(r.Context(), s.id)
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
}

// page is what a template renders.
type page struct {
	Title string
	Nav   string
	Who   *Identity
	CSRF  string
	Error string
	// Sign-in and registration: the email as typed; whether registration
	// is open; the account name as typed.
	Email        string
	Registration bool
	AccountName  string
	// Next is where sign-in goes on to (afterSignIn checks it).
	Next string
	// Consent is the OAuth consent page's.
	Consent *consent
	// Connect.
	Origin string
	// Keys.
	Keys    []keyRow
	NewKey  string
	NewName string
	Form    keyForm
	// Keys, Users: the admin's account filter (nil for anyone else).
	Filter *accountFilter
	// View is a page's own data (Generations, a generation, Models,
	// Providers): the template knows its type.
	View any
	// Accounts.
	Accounts *accountsPage
	// Usage.
	Usage *usagePage
	// Rankings; RankingsNav: whether the nav links to it.
	Rankings    *rankingsPage
	RankingsNav bool
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	if name == "signin" {
		p.Registration = c.regOpen()
	}
	p.RankingsNav = c.rankingsMode() != RankingsOff
	var b strings.Builder
	if err := c.pages[name].ExecuteTemplate(&b, "layout", p); err != nil {
		c.log.Error("console template", slog.String("page", name), slog.String("error", err.Error()))
		http.Error(w, "the console could not render this page", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// apiError is a management API refusal, with its status and message.
type apiError struct {
	status  int
	message string
}

func (e *apiError) Error() string { return e.message }

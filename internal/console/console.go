// Package console is the web console: server-rendered pages (html/template
// and htmx, embedded in the binary) at / for browsers and under /console/.
// A browser signs in with the admin key or a management key; the key stays
// in the gateway's memory, in a session the browser names with an
// HttpOnly cookie. Everything the console changes it changes by calling the
// gateway's own management API in-process with the session's key, so what
// it may do is exactly what that key may do with curl.
package console

import (
	"crypto/subtle"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
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
	Now    func() time.Time
	Log    *slog.Logger
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
	// Addresses whose failures are tracked at once.
	trackedAddresses = 10000
	// A sign-in or key form is a few hundred bytes.
	maxFormBody = 64 << 10
)

// CookieName is the session cookie's name.
const CookieName = "switchyard_session"

// Console serves the console's pages and assets.
type Console struct {
	api      http.Handler
	verify   func(string) (Identity, error)
	now      func() time.Time
	log      *slog.Logger
	sessions *sessions
	failures *failures
	pages    map[string]*template.Template
	assets   http.Handler
	mux      *http.ServeMux
}

// New builds a Console.
func New(o Options) *Console {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
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
		api: o.API, verify: o.Verify, now: o.Now, log: o.Log,
		sessions: newSessions(o.MaxSessions, o.SessionTTL, o.SessionIdle, o.Now),
		failures: newFailures(signInFailures, signInWindow, trackedAddresses, o.Now),
		pages:    map[string]*template.Template{},
	}
	for _, p := range []string{"signin", "connect", "keys", "usage", "notfound"} {
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
	m.HandleFunc("GET /console/usage", c.signedIn(c.usage))
	m.HandleFunc("GET /console/usage.csv", c.signedIn(c.usageCSV))
	m.HandleFunc("/", c.notFound)
	c.mux = m
	return c
}

// ServeHTTP serves / (for a browser), /console and everything under it.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// The pages load only their own scripts and styles, are never framed,
	// and send no Referer (a key's hash is in some URLs).
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
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
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		return err == nil && o != "null" && strings.EqualFold(u.Host, r.Host)
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
	return c.sessions.get(ck.Value)
}

// signedIn runs h for a request with a live session, and, when it changes
// something, the session's CSRF token; otherwise it sends the browser to
// sign in (or refuses a POST).
func (c *Console) signedIn(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := c.session(r)
		if s != nil {
			// A key disabled, expired or deleted since sign-in ends its
			// sessions at their next request.
			if _, err := c.verify(s.key); err != nil {
				c.sessions.revoke(s.id)
				s = nil
			}
		}
		if s == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
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
	if c.session(r) != nil {
		http.Redirect(w, r, "/console/connect", http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "signin", &page{Title: "Sign in"})
}

// clientAddr is the address failed sign-ins are counted against: the
// connection's peer (the gateway trusts no forwarding header).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// signIn serves POST /console/signin: key → session cookie.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	addr := clientAddr(r)
	if wait := c.failures.blocked(addr); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		c.render(w, r, http.StatusTooManyRequests, "signin", &page{Title: "Sign in",
			Error: "Too many failed sign-ins from your address; try again in " + strconv.Itoa(secs) + " seconds."})
		return
	}
	key := strings.TrimSpace(r.PostFormValue("key"))
	if key == "" {
		c.render(w, r, http.StatusBadRequest, "signin", &page{Title: "Sign in", Error: "Enter the admin key or a management key."})
		return
	}
	who, err := c.verify(key)
	if err != nil {
		c.failures.fail(addr)
		c.log.Info("console sign-in refused", slog.String("addr", addr), slog.String("reason", err.Error()))
		c.render(w, r, http.StatusUnauthorized, "signin", &page{Title: "Sign in", Error: "Sign-in refused: " + err.Error()})
		return
	}
	s := c.sessions.create(key, who)
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: s.id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	c.log.Info("console sign-in", slog.String("addr", addr), slog.String("key", who.Label), slog.String("kind", who.Kind))
	http.Redirect(w, r, "/console/keys", http.StatusSeeOther)
}

// signOut serves POST /console/signout: the session ends here and now.
func (c *Console) signOut(w http.ResponseWriter, r *http.Request, s *session) {
	c.sessions.revoke(s.id)
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
	// Connect.
	Origin string
	// Keys.
	Keys    []keyRow
	NewKey  string
	NewName string
	Form    keyForm
	// Usage.
	Usage *usagePage
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
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

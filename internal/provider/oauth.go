package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Token is a short-lived credential from a TokenSource.
type Token struct {
	Value string
	// Expiry is when the token stops being accepted; zero means it does
	// not expire (it is fetched once).
	Expiry time.Time
}

// TokenSource fetches a fresh token: an OAuth 2.0 token endpoint
// (ClientCredentials), a cloud metadata server, a workload identity file.
// Its errors must not carry the secrets it sends.
type TokenSource interface {
	Token(ctx context.Context) (Token, error)
}

// BearerSigner signs with "Authorization: Bearer <token>" from a
// TokenSource, caching the token and refreshing it before it expires.
//
// A token is used until Early before its expiry; from then on the first
// request starts one refresh in the background (single-flight: however many
// requests arrive, one fetch runs) and goes on with the still-valid token.
// A request that finds no valid token (the first, or after a failed
// refresh let the token run out) waits for the fetch, or for its own
// context; an expired token is never sent. A failed fetch fails the
// requests waiting on it; the next fetch starts no sooner than RetryAfter.
type BearerSigner struct {
	Source TokenSource
	// Early is how long before its expiry a token is refreshed
	// (default one minute).
	Early time.Duration
	// FetchTimeout bounds one fetch (default 30 s). A fetch does not end
	// with the request that started it: others may be waiting on it.
	FetchTimeout time.Duration
	// RetryAfter is how long after a failed fetch the next one may start
	// (default one second): meanwhile requests fail at once with that
	// failure (or go on with a token still valid) instead of each sending
	// the token endpoint another request.
	RetryAfter time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	mu       sync.Mutex
	tok      Token
	header   []string      // {"Bearer " + tok.Value}, shared by every request until the next token
	inflight chan struct{} // closed when the running fetch ends; nil when none runs
	lastErr  error         // the last fetch's failure, for the requests that waited on it
	failedAt time.Time     // when it failed
}

// Sign implements Signer.
func (s *BearerSigner) Sign(req *http.Request, _ []byte) error {
	h, err := s.value(req.Context())
	if err != nil {
		return err
	}
	req.Header["Authorization"] = h
	return nil
}

func (s *BearerSigner) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// value returns the Authorization value of a token valid now.
func (s *BearerSigner) value(ctx context.Context) ([]string, error) {
	s.mu.Lock()
	valid, fresh := s.validLocked()
	if fresh {
		h := s.header
		s.mu.Unlock()
		return h, nil
	}
	wait := s.inflight
	if wait == nil && s.lastErr != nil && s.now().Sub(s.failedAt) < s.retryAfter() {
		h, err := s.header, s.lastErr
		s.mu.Unlock()
		if valid {
			return h, nil
		}
		return nil, err
	}
	if wait == nil {
		wait = make(chan struct{})
		s.inflight = wait
		go s.fetch(context.WithoutCancel(ctx), wait)
	}
	if valid {
		// Refreshing early: this request goes on with the current token.
		h := s.header
		s.mu.Unlock()
		return h, nil
	}
	s.mu.Unlock()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-wait:
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if valid, _ := s.validLocked(); valid {
		return s.header, nil
	}
	if s.lastErr != nil {
		return nil, s.lastErr
	}
	// The fetch gave a token that has already expired (a clock far off
	// the issuer's, or Early past its lifetime): never send it.
	return nil, errors.New("the token source returned a token that has already expired")
}

// validLocked reports whether the cached token may be sent now, and
// whether it is still fresh (not yet due for its early refresh).
func (s *BearerSigner) validLocked() (valid, fresh bool) {
	if s.header == nil {
		return false, false
	}
	if s.tok.Expiry.IsZero() {
		return true, true
	}
	now := s.now()
	return now.Before(s.tok.Expiry), now.Before(s.tok.Expiry.Add(-s.early()))
}

// Scrub redacts the current token from s (an upstream error message that
// echoes the request's headers).
func (s *BearerSigner) Scrub(text string) string {
	s.mu.Lock()
	tok := s.tok.Value
	s.mu.Unlock()
	if len(tok) < 4 {
		return text
	}
	return strings.ReplaceAll(text, tok, "[redacted]")
}

// fetch runs one fetch and publishes its result; done is closed after.
func (s *BearerSigner) fetch(ctx context.Context, done chan struct{}) {
	timeout := s.FetchTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tok, err := s.Source.Token(ctx)
	if err == nil && tok.Value == "" {
		err = errors.New("the token source returned an empty token")
	}
	s.mu.Lock()
	if err != nil {
		s.lastErr, s.failedAt = fmt.Errorf("fetching a token: %w", err), s.now()
	} else {
		s.tok, s.header, s.lastErr = tok, []string{"Bearer " + tok.Value}, nil
	}
	s.inflight = nil
	s.mu.Unlock()
	close(done)
}

func (s *BearerSigner) retryAfter() time.Duration {
	if s.RetryAfter > 0 {
		return s.RetryAfter
	}
	return time.Second
}

func (s *BearerSigner) early() time.Duration {
	if s.Early > 0 {
		return s.Early
	}
	return time.Minute
}

// ClientCredentials is an OAuth 2.0 client credentials grant (RFC 6749
// §4.4): a POST of grant_type=client_credentials to the token endpoint,
// the client authenticated with HTTP Basic (§2.3.1), answered by
// {"access_token", "token_type": "Bearer", "expires_in"} (§5.1).
type ClientCredentials struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	Scopes       []string
	// Transport sends the token request (the shared upstream transport).
	Transport http.RoundTripper
	// Now is the clock the expiry is computed from (time.Now when nil).
	Now func() time.Time
}

// maxTokenAnswer bounds a token endpoint's answer.
const maxTokenAnswer = 64 << 10

// Token implements TokenSource.
func (c *ClientCredentials) Token(ctx context.Context) (Token, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if len(c.Scopes) > 0 {
		form.Set("scope", strings.Join(c.Scopes, " "))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return Token{}, errors.New("the token URL is not valid")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(c.ClientID), url.QueryEscape(c.ClientSecret))
	start := time.Now
	if c.Now != nil {
		start = c.Now
	}
	issued := start()
	resp, err := c.Transport.RoundTrip(req)
	if err != nil {
		// A transport error names the URL and the cause, never headers.
		return Token{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenAnswer))
	if err != nil {
		return Token{}, err
	}
	var ans struct {
		AccessToken string          `json:"access_token"`
		TokenType   string          `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
		Error       string          `json:"error"`
	}
	if resp.StatusCode != http.StatusOK {
		_ = json.Unmarshal(raw, &ans)
		// Only the status and the RFC 6749 §5.2 error code, when it is
		// one: the rest of an error body may echo what was sent.
		msg := "the token endpoint answered HTTP " + strconv.Itoa(resp.StatusCode)
		if oauthErrors[ans.Error] {
			msg += " (" + ans.Error + ")"
		}
		return Token{}, errors.New(msg)
	}
	if err := json.Unmarshal(raw, &ans); err != nil || ans.AccessToken == "" {
		return Token{}, errors.New("the token endpoint's answer has no access_token")
	}
	if !strings.EqualFold(ans.TokenType, "bearer") {
		return Token{}, errors.New("the token endpoint issued a token that is not a Bearer token")
	}
	tok := Token{Value: ans.AccessToken}
	if len(ans.ExpiresIn) > 0 && string(ans.ExpiresIn) != "null" {
		// A number of seconds; some servers send it as a string.
		n, err := strconv.ParseInt(strings.Trim(string(ans.ExpiresIn), `"`), 10, 64)
		if err != nil || n <= 0 || n > 10*365*24*3600 {
			return Token{}, errors.New("the token endpoint's expires_in is not a positive number of seconds")
		}
		// From when the request was sent: the token cannot outlive that.
		tok.Expiry = issued.Add(time.Duration(n) * time.Second)
	}
	return tok, nil
}

// oauthErrors are the error codes of RFC 6749 §5.2.
var oauthErrors = map[string]bool{"invalid_request": true, "invalid_client": true, "invalid_grant": true,
	"unauthorized_client": true, "unsupported_grant_type": true, "invalid_scope": true}

package admin

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/oauth"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// OAuthPolicy is the configured part of the PKCE flow
// (config security.oauth).
type OAuthPolicy struct {
	CodeTTL    time.Duration
	AllowPlain bool
}

// Failed exchanges allowed per source address per window; past them the
// address gets 429 until the window ends. A verifier is 256 bits, so this
// guards the store more than the codes.
const (
	exchangeFailures      = 10
	exchangeFailureWindow = time.Minute
)

// AuthCodeRequest is POST /auth/keys/code's body (OpenRouter's fields, and
// account_id for the admin key).
type AuthCodeRequest struct {
	CallbackURL         string       `json:"callback_url"`
	CodeChallenge       string       `json:"code_challenge"`
	CodeChallengeMethod string       `json:"code_challenge_method"`
	Limit               *money.Nanos `json:"limit"`
	// AccountID is the account the key will be made in: the admin key's
	// choice (default acct-default); a management key's own account.
	AccountID string `json:"account_id"`
}

// AuthCodeObject is POST /auth/keys/code's data.
type AuthCodeObject struct {
	ID        string    `json:"id"` // the code, shown once
	AppID     string    `json:"app_id"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	AccountID string    `json:"account_id"`
}

// CreateAuthCode serves POST /auth/keys/code: an admin or management key
// grants an app (named by its callback URL) a code it can exchange, with
// the verifier of code_challenge, for a new API key in the account. The
// console's consent page calls it with the signed-in key.
func (a *API) CreateAuthCode(p OAuthPolicy) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		caller, err := a.caller(r)
		if err != nil {
			return err
		}
		var req AuthCodeRequest
		if err := decode(r, &req); err != nil {
			return err
		}
		cb, err := oauth.Callback(req.CallbackURL)
		if err != nil {
			return llm.BadRequest("callback_url", "%s", err.Error())
		}
		if req.CodeChallenge == "" {
			return llm.BadRequest("code_challenge", "code_challenge is required: base64url(SHA-256(code_verifier)) with code_challenge_method S256")
		}
		// RFC 7636 section 4.3: a request without a method means plain.
		method := req.CodeChallengeMethod
		if method == "" {
			method = oauth.MethodPlain
		}
		if err := oauth.Allowed(method, p.AllowPlain); err != nil {
			return llm.BadRequest("code_challenge_method", "%s", err.Error())
		}
		if err := oauth.CheckChallenge(method, req.CodeChallenge); err != nil {
			return llm.BadRequest("code_challenge", "%s", err.Error())
		}
		if req.Limit != nil && *req.Limit < 0 {
			return llm.BadRequest("limit", "'limit' must be a non-negative amount of USD or null")
		}
		acct := req.AccountID
		switch {
		case caller.Kind == store.KindManagement && acct != "" && acct != caller.AccountID:
			return llm.Forbidden("forbidden", "a management key can only grant keys in its own account ("+caller.AccountID+")")
		case caller.Kind == store.KindManagement:
			acct = caller.AccountID
		case acct == "":
			acct = store.DefaultAccountID
		}
		if _, err := a.st.GetAccount(r.Context(), acct); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return llm.BadRequest("account_id", "no account %q", acct)
			}
			return err
		}
		now := a.now().UTC()
		code := oauth.NewCode()
		c := &store.AuthCode{Hash: oauth.HashCode(code), AccountID: acct, Challenge: req.CodeChallenge, Method: method,
			CallbackURL: cb.String(), AppID: oauth.AppID(cb), Limit: req.Limit, GrantedBy: caller.Hash,
			CreatedAt: now, ExpiresAt: now.Add(p.CodeTTL)}
		if err := a.st.PutAuthCode(r.Context(), c); err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, dataOf(AuthCodeObject{ID: code, AppID: c.AppID, CreatedAt: now, ExpiresAt: c.ExpiresAt, AccountID: acct}))
	}
}

// ExchangeRequest is POST /auth/keys' body.
type ExchangeRequest struct {
	Code                string `json:"code"`
	CodeVerifier        string `json:"code_verifier"`
	CodeChallengeMethod string `json:"code_challenge_method"`
}

// ExchangeAuthCode serves POST /auth/keys: an app trades a code and its
// PKCE verifier for a new API key, named after the app, in the granting
// account, with the granted limit. No key is needed: the verifier is the
// proof. Any attempt uses the code up, right or wrong, so a code cannot be
// tried twice; failures count against the caller's address.
func (a *API) ExchangeAuthCode(p OAuthPolicy) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		addr := a.clientAddr(r)
		if wait := a.exchangeFails.Blocked(addr); wait > 0 {
			secs := strconv.Itoa(int((wait + time.Second - 1) / time.Second))
			return llm.RateLimited("too many failed code exchanges from your address; try again in "+secs+" seconds", secs)
		}
		k, plain, err := a.exchange(r, p)
		if err != nil {
			if e := llm.AsError(err); e != nil && e.Status >= 400 && e.Status < 500 {
				a.exchangeFails.Fail(addr)
			}
			return err
		}
		return writeJSON(w, http.StatusOK, struct {
			Key    string `json:"key"`
			UserID string `json:"user_id"`
		}{plain, k.AccountID})
	}
}

func (a *API) exchange(r *http.Request, p OAuthPolicy) (*store.Key, string, error) {
	var req ExchangeRequest
	if err := decode(r, &req); err != nil {
		return nil, "", err
	}
	if req.Code == "" || len(req.Code) > 256 {
		return nil, "", llm.BadRequest("code", "code is required: the code your callback_url received")
	}
	if req.CodeVerifier == "" {
		return nil, "", llm.BadRequest("code_verifier", "code_verifier is required: the secret whose challenge you sent to /auth")
	}
	now := a.now()
	c, err := a.st.TakeAuthCode(r.Context(), oauth.HashCode(req.Code), now)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", llm.Forbidden("invalid_code", "this code is unknown, expired or already used; send the user through /auth again")
	}
	if err != nil {
		return nil, "", err
	}
	if req.CodeChallengeMethod != "" && req.CodeChallengeMethod != c.Method {
		return nil, "", llm.Forbidden("invalid_code_verifier", "code_challenge_method "+strconv.Quote(req.CodeChallengeMethod)+" is not the method this code was issued for; the code is used up")
	}
	if err := oauth.Allowed(c.Method, p.AllowPlain); err != nil {
		return nil, "", llm.Forbidden("invalid_code_verifier", err.Error())
	}
	if err := oauth.Verify(c.Method, c.Challenge, req.CodeVerifier); err != nil {
		return nil, "", llm.Forbidden("invalid_code_verifier", err.Error()+"; the code is used up")
	}
	// A grant approved by a key since disabled or expired is void. (A key
	// not in the store is the config file's admin key, or one deleted
	// within the code's few minutes: the code stands.)
	granter, err := a.st.GetKey(r.Context(), c.GrantedBy)
	switch {
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return nil, "", err
	case err == nil && auth.Usable(granter, now) != nil:
		return nil, "", llm.Forbidden("invalid_code", "the key that approved this code has been disabled or has expired since")
	}
	return a.createKey(r.Context(), CreateKeyRequest{Name: c.AppID, AccountID: c.AccountID, Limit: c.Limit})
}

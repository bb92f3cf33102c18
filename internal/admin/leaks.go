package admin

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/apikey"
	"github.com/switchyard-gw/switchyard/internal/audit"
	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/secretscan"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// maxLeakReportBody bounds a leak report: GitHub batches matches, and
// secretscan.MaxTokens of them fit with room to spare.
const maxLeakReportBody = 1 << 20

// LeakReport is a key's leak report as the API shows it.
type LeakReport struct {
	At     string `json:"at"` // RFC 3339
	URL    string `json:"url"`
	Source string `json:"source"`
}

// ReportLeaks serves POST /secret-scanning/report for GitHub secret
// scanning. The request carries no key: its signature, checked by v over
// the raw body before anything else is read, is its authentication. Every
// reported key the gateway knows (of any kind) is disabled and the report
// kept on it (where, when, the kind of place); the answer labels each
// token true_positive (a key of this gateway) or false_positive. A key
// already disabled for a report is left as it is, so GitHub's retries and
// repeated reports change nothing.
func (a *API) ReportLeaks(v *secretscan.Verifier) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxLeakReportBody+1))
		if err != nil {
			var e *llm.Error
			if errors.As(err, &e) {
				return e // the server's body deadline or size limit
			}
			return llm.BadRequest("", "reading the report: %v", err)
		}
		if len(body) > maxLeakReportBody {
			return &llm.Error{Kind: llm.KindCaller, Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error",
				Code: "request_too_large", Message: "a secret-scanning report may be at most 1 MiB"}
		}
		if err := v.Verify(body, r.Header.Get(secretscan.HeaderKeyID), r.Header.Get(secretscan.HeaderSignature)); err != nil {
			if errors.Is(err, secretscan.ErrNoKeys) {
				return llm.Forbidden("forbidden", err.Error())
			}
			return &llm.Error{Kind: llm.KindCaller, Status: http.StatusUnauthorized, Type: "invalid_request_error",
				Code: "invalid_signature", Message: err.Error()}
		}
		audit.As(r.Context(), "github", r.Header.Get(secretscan.HeaderKeyID), "GitHub secret scanning")
		tokens, err := secretscan.Parse(body)
		if err != nil {
			return llm.BadRequest("", "%s", err.Error())
		}
		now := a.now().UTC()
		out := make([]secretscan.Feedback, 0, len(tokens))
		type disabledKey struct {
			Hash      string `json:"hash"`
			AccountID string `json:"account_id"`
			URL       string `json:"url"`
		}
		var disabled []disabledKey
		changed := false
		for _, t := range tokens {
			k, err := a.reportedKey(r, t.Token)
			if err != nil {
				return err
			}
			if k != nil && (!k.Disabled || k.Leak == nil) {
				k.Disabled = true
				k.Leak = &store.LeakReport{At: now, URL: t.URL, Source: t.Source}
				switch err := a.st.UpdateKey(r.Context(), k); {
				case errors.Is(err, store.ErrNotFound):
					k = nil // deleted meanwhile: no key now
				case err != nil:
					return err // GitHub retries; the keys done so far stay done
				default:
					a.keys.Put(k)
					changed = true
					disabled = append(disabled, disabledKey{k.Hash, k.AccountID, t.URL})
				}
			}
			label := secretscan.FalsePositive
			if k != nil {
				label = secretscan.TruePositive
			}
			out = append(out, secretscan.Feedback{TokenRaw: t.Token, TokenType: t.Type, Label: label})
		}
		if changed {
			a.notify(r.Context(), "keys")
		}
		audit.Describe(r.Context(), "", "", nil, map[string]any{"disabled": disabled})
		return writeJSON(w, http.StatusOK, out)
	}
}

// reportedKey returns the live key a reported token is, or nil. A
// sk-sy-v1- token that fails its checksum is no key, and is not looked up.
func (a *API) reportedKey(r *http.Request, token string) (*store.Key, error) {
	if strings.HasPrefix(token, apikey.Prefix) && apikey.Check(token) != nil {
		return nil, nil
	}
	k, err := a.st.GetKey(r.Context(), auth.Hash(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return k, err
}

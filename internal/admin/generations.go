package admin

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// Page sizes of GET /generations.
const (
	DefaultGenerationsLimit = 50
	MaxGenerationsLimit     = 200
)

// GenerationsPage is GET /generations' answer: a page, newest first, and
// the cursor of the next one (null on the last page).
type GenerationsPage struct {
	Data       []GenerationObject `json:"data"`
	NextCursor *string            `json:"next_cursor"`
}

// ListGenerations serves GET /generations?key=&model=&provider=&status=
// &app=&from=&to=&account_id=&cursor=&limit= (admin: every account, or
// ?account_id=; management key: its own account, without admin keys'
// generations). Newest first; a page holds limit (default 50, at most
// 200) and next_cursor continues it. Records reach the store with the
// ledger writer's next batch, a few hundred milliseconds after the
// request.
func (a *API) ListGenerations(w http.ResponseWriter, r *http.Request) error {
	caller, err := a.caller(r)
	if err != nil {
		return err
	}
	q, err := generationQuery(r)
	if err != nil {
		return err
	}
	if caller.Kind == store.KindManagement {
		if q.AccountID != "" && q.AccountID != caller.AccountID {
			return llm.NotFound("no account " + q.AccountID)
		}
		q.AccountID = caller.AccountID
		if q.KeyHash != "" {
			// Another account's key, or an admin key: nothing of it is
			// visible, said as an empty page, as for a key never used.
			if k, err := a.st.GetKey(r.Context(), q.KeyHash); err == nil && !visibleTo(caller, k) {
				return writeJSON(w, http.StatusOK, GenerationsPage{Data: []GenerationObject{}})
			}
		}
		if q.ExcludeKeys, err = a.adminKeysOf(r, caller.AccountID); err != nil {
			return err
		}
	}
	limit := q.Limit
	q.Limit++ // one more: is there a next page?
	gs, err := a.st.ListGenerations(r.Context(), q)
	if err != nil {
		return err
	}
	page := GenerationsPage{Data: make([]GenerationObject, 0, min(len(gs), limit))}
	for i := range gs[:min(len(gs), limit)] {
		page.Data = append(page.Data, a.generationObject(&gs[i]))
	}
	if len(gs) > limit {
		c := encodeCursor(gs[limit-1].CreatedAt, gs[limit-1].ID)
		page.NextCursor = &c
	}
	return writeJSON(w, http.StatusOK, page)
}

// adminKeysOf returns the hashes of the admin keys stored in account id
// (the bootstrap admin key is in the default account): a management key of
// that account does not see what they did.
func (a *API) adminKeysOf(r *http.Request, id string) ([]string, error) {
	keys, err := a.st.ListKeys(r.Context())
	if err != nil {
		return nil, err
	}
	var out []string
	for _, k := range keys {
		if k.Kind == store.KindAdmin && k.AccountID == id {
			out = append(out, k.Hash)
		}
	}
	if id == store.DefaultAccountID {
		if k, ok := a.keys.ConfigAdmin(); ok {
			out = append(out, k)
		}
	}
	return out, nil
}

// generationQuery reads GET /generations' parameters; a bad one is a 400
// naming it.
func generationQuery(r *http.Request) (store.GenerationQuery, error) {
	v := r.URL.Query()
	q := store.GenerationQuery{
		KeyHash: v.Get("key"), Model: v.Get("model"), Provider: v.Get("provider"),
		App: v.Get("app"), AccountID: v.Get("account_id"), Limit: DefaultGenerationsLimit,
	}
	if q.KeyHash != "" && !store.IsKeyHash(q.KeyHash) {
		return q, llm.BadRequest("key", "'key' must be a key's hash (64 lowercase hex digits, as GET /api/v1/keys lists them)")
	}
	for name, s := range map[string]string{"model": q.Model, "provider": q.Provider, "app": q.App, "account_id": q.AccountID} {
		if len(s) > 512 {
			return q, llm.BadRequest(name, "'%s' is longer than 512 bytes", name)
		}
	}
	switch s := v.Get("status"); {
	case s == "":
	case s == store.OutcomeOK || s == store.OutcomeError:
		q.Outcome = s
	case len(s) == 3 && s[0] >= '1' && s[0] <= '5' && isDigits(s):
		q.Status, _ = strconv.Atoi(s)
	case isErrorCode(s):
		q.ErrorCode = s
	default:
		return q, llm.BadRequest("status", "'status' must be ok, error, an HTTP status (429) or an error code (rate_limited)")
	}
	if err := parseRange(v, &q.From, &q.To); err != nil {
		return q, err
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxGenerationsLimit {
			return q, llm.BadRequest("limit", "'limit' must be a whole number from 1 to %d", MaxGenerationsLimit)
		}
		q.Limit = n
	}
	if s := v.Get("cursor"); s != "" {
		c, ok := decodeCursor(s)
		if !ok {
			return q, llm.BadRequest("cursor", "'cursor' is not one this API gave out: pass next_cursor from the previous page as it is")
		}
		q.After = c
	}
	return q, nil
}

func isDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// isErrorCode accepts the shape of the gateway's error codes.
func isErrorCode(s string) bool {
	if len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && c != '_' && (c < '0' || c > '9') {
			return false
		}
	}
	return s != ""
}

// A cursor is the last listed generation's time (unix nanoseconds) and
// id, "NANOS.ID" in unpadded base64url: opaque to clients, which pass it
// back as they got it.
func encodeCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.UnixNano(), 10) + "." + id))
}

func decodeCursor(s string) (*store.GenerationCursor, bool) {
	if len(s) > 512 {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	ns, id, ok := strings.Cut(string(b), ".")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || !strings.HasPrefix(id, "gen-") {
		return nil, false
	}
	return &store.GenerationCursor{CreatedAt: time.Unix(0, n).UTC(), ID: id}, true
}

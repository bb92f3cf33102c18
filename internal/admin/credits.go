package admin

import (
	"crypto/rand"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/auth"
	"github.com/switchyard-gw/switchyard/internal/llm"
	"github.com/switchyard-gw/switchyard/internal/money"
	"github.com/switchyard-gw/switchyard/internal/store"
)

// LedgerEntryObject is a ledger entry as GET /accounts/{id}/ledger shows it.
// Amount is USD, signed from the account's side (a charge is negative).
type LedgerEntryObject struct {
	ID           int64       `json:"id"`
	Kind         string      `json:"kind"` // topup | charge | adjust | redeem
	Amount       money.Nanos `json:"amount"`
	Memo         string      `json:"memo"`
	KeyHash      *string     `json:"key_hash"`
	GenerationID *string     `json:"generation_id"`
	CreatedAt    time.Time   `json:"created_at"`
}

// Ledger page sizes.
const (
	defaultLedgerPage = 50
	maxLedgerPage     = 500
)

// Ledger serves GET /accounts/{id}/ledger?limit=&before=: the account's
// ledger entries, newest first; "next" is the before= of the next page
// (null on the last). Admin: any account; management key: its own.
func (a *API) Ledger(w http.ResponseWriter, r *http.Request, id string) error {
	caller, err := a.caller(r)
	if err != nil {
		return err
	}
	if caller.Kind == store.KindManagement && id != caller.AccountID {
		return llm.NotFound("no account " + id)
	}
	q := r.URL.Query()
	limit := defaultLedgerPage
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLedgerPage {
			return llm.BadRequest("limit", "'limit' must be a whole number from 1 to %d", maxLedgerPage)
		}
		limit = n
	}
	var before *store.LedgerCursor
	if v := q.Get("before"); v != "" {
		c, ok := parseCursor(v)
		if !ok {
			return llm.BadRequest("before", "'before' must be the 'next' value of a previous page")
		}
		before = &c
	}
	if _, err := a.st.GetAccount(r.Context(), id); err != nil {
		return notFoundAs(err, "no account "+id)
	}
	entries, err := a.st.ListLedger(r.Context(), id, before, limit+1)
	if err != nil {
		return err
	}
	var next *string
	if len(entries) > limit {
		entries = entries[:limit]
		last := entries[limit-1]
		c := strconv.FormatInt(last.CreatedAt.UnixNano(), 10) + "-" + strconv.FormatInt(last.ID, 10)
		next = &c
	}
	out := make([]LedgerEntryObject, 0, len(entries))
	for _, e := range entries {
		out = append(out, LedgerEntryObject{ID: e.ID, Kind: e.Kind, Amount: e.Amount, Memo: e.Memo,
			KeyHash: strOrNil(e.KeyHash), GenerationID: strOrNil(e.GenerationID), CreatedAt: e.CreatedAt.UTC()})
	}
	return writeJSON(w, http.StatusOK, struct {
		Data []LedgerEntryObject `json:"data"`
		Next *string             `json:"next"`
	}{out, next})
}

// parseCursor reads "UNIXNANOS-ID".
func parseCursor(v string) (store.LedgerCursor, bool) {
	ts, id, ok := strings.Cut(v, "-")
	if !ok {
		return store.LedgerCursor{}, false
	}
	n, err1 := strconv.ParseInt(ts, 10, 64)
	i, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || n < 0 || i < 0 {
		return store.LedgerCursor{}, false
	}
	return store.LedgerCursor{At: time.Unix(0, n).UTC(), ID: i}, true
}

// Redeem codes: "sy-rc-" and 24 base62 characters (≈143 random bits).
const (
	RedeemPrefix  = "sy-rc-"
	redeemRandom  = 24
	redeemAlpha   = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	maxRedeemMemo = 500
)

// NewRedeemCode returns a fresh random code, its characters drawn from
// crypto/rand by rejection sampling so that each is uniform.
func NewRedeemCode() string {
	b := []byte(RedeemPrefix)
	var buf [32]byte
	for len(b) < len(RedeemPrefix)+redeemRandom {
		_, _ = rand.Read(buf[:])
		for _, c := range buf {
			if c < 248 && len(b) < len(RedeemPrefix)+redeemRandom { // 248 = 4·62
				b = append(b, redeemAlpha[c%62])
			}
		}
	}
	return string(b)
}

// wellFormedCode reports whether code could be one NewRedeemCode made.
func wellFormedCode(code string) bool {
	rest, ok := strings.CutPrefix(code, RedeemPrefix)
	if !ok || len(rest) != redeemRandom {
		return false
	}
	for i := range len(rest) {
		if !strings.ContainsRune(redeemAlpha, rune(rest[i])) {
			return false
		}
	}
	return true
}

// maskCode is a code's label: "sy-rc-AB…yz".
func maskCode(code string) string {
	return code[:len(RedeemPrefix)+2] + "…" + code[len(code)-2:]
}

// RedeemCodeObject is a code as the API lists it: never the code itself.
type RedeemCodeObject struct {
	ID         string     `json:"id"` // the code's SHA-256, hex
	Label      string     `json:"label"`
	Status     string     `json:"status"` // unused | redeemed | expired | voided
	RedeemedBy *string    `json:"redeemed_by"`
	RedeemedAt *time.Time `json:"redeemed_at"`
	VoidedAt   *time.Time `json:"voided_at"`
}

// RedeemBatchObject is a batch of codes as the API shows it.
type RedeemBatchObject struct {
	ID        string             `json:"id"`
	Memo      string             `json:"memo"`
	Value     money.Nanos        `json:"value"`
	ExpiresAt *time.Time         `json:"expires_at"`
	CreatedAt time.Time          `json:"created_at"`
	Count     int                `json:"count"`
	Unused    int                `json:"unused"`
	Redeemed  int                `json:"redeemed"`
	Codes     []RedeemCodeObject `json:"codes"`
}

func batchObject(b *store.RedeemBatch, now time.Time) RedeemBatchObject {
	o := RedeemBatchObject{ID: b.ID, Memo: b.Memo, Value: b.Value, ExpiresAt: utcOrNil(b.ExpiresAt), CreatedAt: b.CreatedAt.UTC(),
		Count: len(b.Codes), Codes: make([]RedeemCodeObject, 0, len(b.Codes))}
	for _, c := range b.Codes {
		co := RedeemCodeObject{ID: c.Hash, Label: c.Label, Status: "unused", RedeemedBy: strOrNil(c.RedeemedBy),
			RedeemedAt: utcOrNil(c.RedeemedAt), VoidedAt: utcOrNil(c.VoidedAt)}
		switch store.Redeemable(c.RedeemedAt, c.VoidedAt, b.ExpiresAt, now) {
		case store.ErrCodeRedeemed:
			co.Status = "redeemed"
			o.Redeemed++
		case store.ErrCodeVoided:
			co.Status = "voided"
		case store.ErrCodeExpired:
			co.Status = "expired"
		default:
			o.Unused++
		}
		o.Codes = append(o.Codes, co)
	}
	return o
}

func utcOrNil(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// CreateRedeemCodes serves POST /redeem-codes {"count", "value", "expires_at",
// "memo"} (admin only) → the batch, and its codes in "codes", shown this
// once: only their hashes are stored.
func (a *API) CreateRedeemCodes(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.adminOnly(r); err != nil {
		return err
	}
	var req struct {
		Count     int          `json:"count"`
		Value     *money.Nanos `json:"value"`
		ExpiresAt *time.Time   `json:"expires_at"`
		Memo      string       `json:"memo"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	now := a.now().UTC()
	switch {
	case req.Count < 1 || req.Count > store.MaxRedeemBatch:
		return llm.BadRequest("count", "'count' must be a whole number from 1 to %d", store.MaxRedeemBatch)
	case req.Value == nil || *req.Value <= 0:
		return llm.BadRequest("value", "'value' (USD) is required and must be positive")
	case req.ExpiresAt != nil && !req.ExpiresAt.After(now):
		return llm.BadRequest("expires_at", "'expires_at' must be in the future")
	case req.ExpiresAt != nil && req.ExpiresAt.After(store.MaxTime):
		return llm.BadRequest("expires_at", "'expires_at' is too far in the future")
	case len(req.Memo) > maxRedeemMemo:
		return llm.BadRequest("memo", "'memo' is at most %d bytes", maxRedeemMemo)
	}
	b := &store.RedeemBatch{ID: "rcb-" + randomID(20), Memo: req.Memo, Value: *req.Value, ExpiresAt: utcOrNil(req.ExpiresAt), CreatedAt: now}
	codes := make([]string, req.Count)
	for i := range codes {
		codes[i] = NewRedeemCode()
		b.Codes = append(b.Codes, store.RedeemCode{Hash: auth.Hash(codes[i]), Label: maskCode(codes[i])})
	}
	if err := a.st.CreateRedeemBatch(r.Context(), b); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, struct {
		Data  RedeemBatchObject `json:"data"`
		Codes []string          `json:"codes"`
	}{batchObject(b, now), codes})
}

// ListRedeemCodes serves GET /redeem-codes (admin only): every batch,
// newest first, with the status of each code.
func (a *API) ListRedeemCodes(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.adminOnly(r); err != nil {
		return err
	}
	batches, err := a.st.ListRedeemBatches(r.Context())
	if err != nil {
		return err
	}
	now := a.now()
	out := make([]RedeemBatchObject, 0, len(batches))
	for i := range batches {
		out = append(out, batchObject(&batches[i], now))
	}
	return writeJSON(w, http.StatusOK, dataOf(out))
}

// VoidRedeemCodes serves DELETE /redeem-codes/{id} (admin only): voids the
// unused codes of the batch id, or the one code whose id (hash) it is.
// Redeemed codes stay as they are.
func (a *API) VoidRedeemCodes(w http.ResponseWriter, r *http.Request, id string) error {
	if _, err := a.adminOnly(r); err != nil {
		return err
	}
	n, err := a.st.VoidRedeemCodes(r.Context(), id, a.now().UTC())
	if err != nil {
		return notFoundAs(err, "no redeem code batch or code "+id)
	}
	return writeJSON(w, http.StatusOK, dataOf(map[string]any{"id": id, "voided": n}))
}

// Failed redemptions allowed per account and per address in a window.
const (
	redeemFailures = 10
	redeemWindow   = 15 * time.Minute
)

// Redeem serves POST /credits/redeem {"code"} with an account's management
// key: the code's value is added to the account's credits, once.
func (a *API) Redeem(w http.ResponseWriter, r *http.Request) error {
	caller, err := a.caller(r)
	if err != nil {
		return err
	}
	if caller.Kind != store.KindManagement {
		return llm.Forbidden("forbidden", "redeem a code with the management key of the account to credit; the admin adds credits with POST /api/v1/accounts/{id}/credits")
	}
	who := []string{"account " + caller.AccountID, "address " + a.clientAddr(r)}
	if wait := a.redeemFails.Blocked(who...); wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		return llm.RateLimited("too many failed redemptions from this account or address; try again in "+strconv.Itoa(secs)+" seconds", strconv.Itoa(secs))
	}
	var req struct {
		Code string `json:"code"`
	}
	if err := decode(r, &req); err != nil {
		return err
	}
	code := strings.TrimSpace(req.Code)
	fail := func(status int, errCode, msg string) error {
		a.redeemFails.Fail(who...)
		return &llm.Error{Kind: llm.KindCaller, Status: status, Type: "invalid_request_error", Code: errCode, Param: "code", Message: msg}
	}
	if !wellFormedCode(code) {
		return fail(http.StatusBadRequest, "redeem_code_invalid", "that is not a valid redeem code (they look like "+RedeemPrefix+"…, 30 characters)")
	}
	ac, b, err := a.st.Redeem(r.Context(), auth.Hash(code), caller.AccountID, a.now().UTC())
	switch {
	case errors.Is(err, store.ErrUnmetered):
		return &llm.Error{Kind: llm.KindPolicy, Status: http.StatusConflict, Type: "invalid_request_error", Code: "account_unmetered", Param: "code",
			Message: "account " + caller.AccountID + " is unmetered: it has no balance to add to. The code stays unused; an operator can make the account prepaid first"}
	case errors.Is(err, store.ErrNotFound):
		return fail(http.StatusBadRequest, "redeem_code_invalid", "that is not a valid redeem code")
	case errors.Is(err, store.ErrCodeVoided):
		return fail(http.StatusBadRequest, "redeem_code_voided", "that redeem code was voided by an operator")
	case errors.Is(err, store.ErrCodeExpired):
		return fail(http.StatusBadRequest, "redeem_code_expired", "that redeem code has expired")
	case errors.Is(err, store.ErrCodeRedeemed):
		return fail(http.StatusConflict, "redeem_code_redeemed", "that redeem code has already been redeemed")
	case errors.Is(err, store.ErrCreditsOverflow):
		return llm.BadRequest("code", "redeeming this code would take the credits of account %s past $%s, the largest amount the gateway holds; the code stays unused", caller.AccountID, money.Nanos(math.MaxInt64))
	case err != nil:
		return err
	}
	a.acct.SetAccount(ac.ID, ac.Credits)
	a.notify(r.Context(), "accounts")
	return writeJSON(w, http.StatusOK, struct {
		Data     AccountObject `json:"data"`
		Redeemed money.Nanos   `json:"redeemed"`
		Memo     string        `json:"memo"`
	}{a.accountObject(ac), b.Value, b.Memo})
}

package console

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-gw/switchyard/internal/admin"
	"github.com/switchyard-gw/switchyard/internal/money"
)

// accountsPage is what the Accounts page shows: the accounts the session's
// key may see, the history of one, and (for the admin) redeem codes.
type accountsPage struct {
	Admin    bool
	Accounts []accountRow
	// Selected is the account whose history is shown.
	Selected *accountRow
	History  []historyRow
	// Older is the link to the next page of history ("" on the last);
	// Paged says this is not the first page.
	Older string
	Paged bool
	// Batches are the redeem code batches (admin).
	Batches []batchRow
	// NewCodes are the codes of a batch just made, shown this once, and
	// CSV their download.
	NewCodes []string
	NewBatch *batchRow
	CSV      template.URL
	// Redeemed is the message after a redemption.
	Redeemed string
	// TopUp, Generate are the forms as typed, to show again after an error.
	TopUp    topUpForm
	Generate generateForm
}

type accountRow struct {
	admin.AccountObject
	Prepaid                 bool
	Credits, Spent, Balance string
}

type historyRow struct {
	admin.LedgerEntryObject
	Amount string
	When   string
	Credit bool
}

type batchRow struct {
	admin.RedeemBatchObject
	Value, Expires, Created string
	Voided                  int
}

type topUpForm struct{ Amount, Memo string }

type generateForm struct{ Count, Value, Expires, Memo string }

func accountRowOf(a admin.AccountObject) accountRow {
	r := accountRow{AccountObject: a, Prepaid: a.Credits != nil, Spent: usdGrouped(a.Usage), Credits: "unmetered", Balance: "unmetered"}
	if a.Credits != nil {
		r.Credits = usdGrouped(*a.Credits)
	}
	if a.Balance != nil {
		r.Balance = usdGrouped(*a.Balance)
	}
	return r
}

func batchRowOf(b admin.RedeemBatchObject) batchRow {
	r := batchRow{RedeemBatchObject: b, Value: usdGrouped(b.Value), Expires: "never", Created: b.CreatedAt.Format("2006-01-02 15:04")}
	if b.ExpiresAt != nil {
		r.Expires = b.ExpiresAt.Format("2006-01-02 15:04") + " UTC"
	}
	for _, c := range b.Codes {
		if c.Status == "voided" {
			r.Voided++
		}
	}
	return r
}

// accounts serves GET /console/accounts[?account=ID&before=CURSOR].
func (c *Console) accounts(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderAccounts(w, r, s, http.StatusOK, "", &accountsPage{})
}

// renderAccounts fills ap with what the session's key may see (one call
// per section) and renders the page.
func (c *Console) renderAccounts(w http.ResponseWriter, r *http.Request, s *session, status int, msg string, ap *accountsPage) {
	p := &page{Title: "Accounts", Nav: "accounts", Who: &s.who, CSRF: s.csrf, Accounts: ap, Error: msg}
	ap.Admin = s.who.Kind == "admin"
	fail := func(what string, err error) {
		p.Error = joinErr(p.Error, what+" failed: "+err.Error())
		if status < 400 {
			status = statusOf(err)
		}
	}
	var list struct {
		Data []admin.AccountObject `json:"data"`
	}
	if err := c.call(r, s, http.MethodGet, "/accounts", nil, &list); err != nil {
		fail("Listing accounts", err)
	}
	want := r.URL.Query().Get("account")
	if r.Method == http.MethodPost {
		want = r.PathValue("id")
	}
	if want == "" && !ap.Admin {
		want = s.who.AccountID
	}
	for _, a := range list.Data {
		ap.Accounts = append(ap.Accounts, accountRowOf(a))
	}
	for i := range ap.Accounts {
		if ap.Accounts[i].ID == want {
			ap.Selected = &ap.Accounts[i]
		}
	}
	if ap.Selected != nil {
		path := "/accounts/" + url.PathEscape(ap.Selected.ID) + "/ledger?limit=25"
		before := r.URL.Query().Get("before")
		if before != "" && r.Method == http.MethodGet {
			path += "&before=" + url.QueryEscape(before)
			ap.Paged = true
		}
		var ledger struct {
			Data []admin.LedgerEntryObject `json:"data"`
			Next *string                   `json:"next"`
		}
		if err := c.call(r, s, http.MethodGet, path, nil, &ledger); err != nil {
			fail("Reading the history", err)
		}
		for _, e := range ledger.Data {
			ap.History = append(ap.History, historyRow{LedgerEntryObject: e, Amount: usdGrouped(e.Amount), Credit: e.Amount > 0,
				When: e.CreatedAt.Format("2006-01-02 15:04:05")})
		}
		if ledger.Next != nil {
			ap.Older = "/console/accounts?account=" + url.QueryEscape(ap.Selected.ID) + "&before=" + url.QueryEscape(*ledger.Next)
		}
	}
	if ap.Admin {
		var batches struct {
			Data []admin.RedeemBatchObject `json:"data"`
		}
		if err := c.call(r, s, http.MethodGet, "/redeem-codes", nil, &batches); err != nil {
			fail("Listing redeem codes", err)
		}
		for _, b := range batches.Data {
			ap.Batches = append(ap.Batches, batchRowOf(b))
		}
	}
	c.render(w, r, status, "accounts", p)
}

// topUp serves POST /console/accounts/{id}/topup: POST
// /api/v1/accounts/{id}/credits with the form's amount and memo.
func (c *Console) topUp(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	f := topUpForm{Amount: strings.TrimSpace(r.PostFormValue("amount")), Memo: strings.TrimSpace(r.PostFormValue("memo"))}
	amount, err := money.ParseUSD(f.Amount)
	if err != nil || amount <= 0 {
		c.renderAccounts(w, r, s, http.StatusBadRequest, "The amount must be a positive amount of USD, such as 5 or 0.25.", &accountsPage{TopUp: f})
		return
	}
	body := map[string]any{"amount": amount, "memo": f.Memo}
	if err := c.call(r, s, http.MethodPost, "/accounts/"+url.PathEscape(id)+"/credits", body, nil); err != nil {
		c.renderAccountsError(w, r, s, err, "The top-up failed: ", &accountsPage{TopUp: f})
		return
	}
	http.Redirect(w, r, "/console/accounts?account="+url.QueryEscape(id), http.StatusSeeOther)
}

// renderAccountsError renders the page with an API refusal.
func (c *Console) renderAccountsError(w http.ResponseWriter, r *http.Request, s *session, err error, prefix string, ap *accountsPage) {
	c.renderAccounts(w, r, s, statusOf(err), prefix+err.Error(), ap)
}

// generateCodes serves POST /console/redeem-codes: POST /api/v1/redeem-codes;
// the new codes are on the page this once, with a CSV download.
func (c *Console) generateCodes(w http.ResponseWriter, r *http.Request, s *session) {
	f := generateForm{Count: strings.TrimSpace(r.PostFormValue("count")), Value: strings.TrimSpace(r.PostFormValue("value")),
		Expires: strings.TrimSpace(r.PostFormValue("expires")), Memo: strings.TrimSpace(r.PostFormValue("memo"))}
	req := map[string]any{"memo": f.Memo}
	n, err := strconv.Atoi(f.Count)
	if err != nil {
		c.renderAccounts(w, r, s, http.StatusBadRequest, "The number of codes must be a whole number from 1 to 1,000.", &accountsPage{Generate: f})
		return
	}
	req["count"] = n
	v, err := money.ParseUSD(f.Value)
	if err != nil {
		c.renderAccounts(w, r, s, http.StatusBadRequest, "The value must be an amount of USD, such as 5 or 0.25.", &accountsPage{Generate: f})
		return
	}
	req["value"] = v
	if f.Expires != "" {
		t, err := time.Parse("2006-01-02", f.Expires)
		if err != nil {
			c.renderAccounts(w, r, s, http.StatusBadRequest, "The expiry must be a date, YYYY-MM-DD.", &accountsPage{Generate: f})
			return
		}
		req["expires_at"] = t
	}
	var made struct {
		Data  admin.RedeemBatchObject `json:"data"`
		Codes []string                `json:"codes"`
	}
	if err := c.call(r, s, http.MethodPost, "/redeem-codes", req, &made); err != nil {
		c.renderAccountsError(w, r, s, err, "Generating codes failed: ", &accountsPage{Generate: f})
		return
	}
	row := batchRowOf(made.Data)
	var csv strings.Builder
	csv.WriteString("code,value_usd,expires_at,memo,batch\r\n")
	exp := ""
	if made.Data.ExpiresAt != nil {
		exp = made.Data.ExpiresAt.Format(time.RFC3339)
	}
	for _, code := range made.Codes {
		csv.WriteString(code + "," + made.Data.Value.String() + "," + exp + "," + csvField(made.Data.Memo) + "," + made.Data.ID + "\r\n")
	}
	// The codes exist nowhere else: the download is the page's own data.
	uri := template.URL("data:text/csv;base64," + base64.StdEncoding.EncodeToString([]byte(csv.String())))
	c.renderAccounts(w, r, s, http.StatusCreated, "", &accountsPage{NewCodes: made.Codes, NewBatch: &row, CSV: uri})
}

// csvField quotes a field for CSV, and defuses a leading formula character
// that a spreadsheet would run.
func csvField(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		v = "'" + v
	}
	if strings.ContainsAny(v, ",\"\r\n") {
		v = `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
	}
	return v
}

// voidCodes serves POST /console/redeem-codes/{id}/void.
func (c *Console) voidCodes(w http.ResponseWriter, r *http.Request, s *session) {
	if err := c.call(r, s, http.MethodDelete, "/redeem-codes/"+url.PathEscape(r.PathValue("id")), nil, nil); err != nil {
		c.renderAccountsError(w, r, s, err, "Voiding failed: ", &accountsPage{})
		return
	}
	http.Redirect(w, r, "/console/accounts", http.StatusSeeOther)
}

// redeem serves POST /console/redeem: POST /api/v1/credits/redeem with the
// session's management key.
func (c *Console) redeem(w http.ResponseWriter, r *http.Request, s *session) {
	var out struct {
		Redeemed money.Nanos `json:"redeemed"`
	}
	code := strings.TrimSpace(r.PostFormValue("code"))
	if err := c.call(r, s, http.MethodPost, "/credits/redeem", map[string]string{"code": code}, &out); err != nil {
		c.renderAccountsError(w, r, s, err, "The code was refused: ", &accountsPage{})
		return
	}
	c.renderAccounts(w, r, s, http.StatusOK, "", &accountsPage{Redeemed: usdGrouped(out.Redeemed) + " was added to your account's credits."})
}

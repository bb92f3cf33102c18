package console

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/switchyard-gw/switchyard/internal/store"
)

// registerPage serves GET /console/register: the sign-up form, when
// console.registration.enabled.
func (c *Console) registerPage(w http.ResponseWriter, r *http.Request) {
	if !c.regOpen() {
		c.render(w, r, http.StatusNotFound, "notfound", &page{Title: "Not found", Error: "This gateway does not take registrations; ask its operator for an account."})
		return
	}
	c.render(w, r, http.StatusOK, "register", &page{Title: "Create an account"})
}

// register serves POST /console/register: POST /api/v1/register with the
// form's fields (no credential), then signs the new owner in. Refusals
// count against the address like failed sign-ins, which bounds guessing
// invitation codes.
func (c *Console) register(w http.ResponseWriter, r *http.Request) {
	addr := c.addr(r)
	p := &page{Title: "Create an account", Email: store.NormalEmail(r.PostFormValue("email")), AccountName: strings.TrimSpace(r.PostFormValue("account_name"))}
	if wait := c.failures.Blocked(addr); wait > 0 {
		c.tooMany(w, r, wait, "from your address", p)
		return
	}
	if !c.regOpen() {
		c.registerPage(w, r)
		return
	}
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("password_again") {
		p.Error = "The password and its repetition differ."
		c.render(w, r, http.StatusBadRequest, "register", p)
		return
	}
	body := map[string]string{"email": p.Email, "password": pw, "invitation_code": strings.TrimSpace(r.PostFormValue("invitation_code")), "account_name": p.AccountName}
	if err := c.call(r, nil, http.MethodPost, "/register", body, nil); err != nil {
		c.failures.Fail(addr)
		p.Error = "Registration refused: " + err.Error()
		c.render(w, r, statusOf(err), "register", p)
		return
	}
	who, err := c.signInFn(r.Context(), p.Email, pw)
	if err != nil {
		p.Error = "Your account was created, but signing in failed: " + err.Error()
		c.render(w, r, http.StatusInternalServerError, "register", p)
		return
	}
	c.log.Info("console registration", slog.String("addr", addr), slog.String("user", who.UserID), slog.String("account", who.AccountID))
	c.startSession(w, r, who)
}

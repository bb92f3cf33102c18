package console

import (
	"net/http"
	"net/url"
)

// passwordPage serves GET /console/password: a signed-in user changes
// their password. Key sessions have none to change.
func (c *Console) passwordPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.renderPassword(w, r, s, http.StatusOK, "")
}

func (c *Console) renderPassword(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	p := &page{Title: "Password", Nav: "password", Who: &s.who, CSRF: s.csrf, Error: msg}
	if s.who.UserID == "" && msg == "" {
		p.Error = "You signed in with a key: there is no password to change. Console users sign in with an email and a password."
	}
	c.render(w, r, status, "password", p)
}

// changePassword serves POST /console/password: POST
// /api/v1/users/{id}/password, which ends every session of the user; this
// browser then gets a new one, so only the others are signed out.
func (c *Console) changePassword(w http.ResponseWriter, r *http.Request, s *session) {
	if s.who.UserID == "" {
		c.renderPassword(w, r, s, http.StatusBadRequest, "")
		return
	}
	cur, next := r.PostFormValue("current_password"), r.PostFormValue("password")
	if next != r.PostFormValue("password_again") {
		c.renderPassword(w, r, s, http.StatusBadRequest, "The new password and its repetition differ.")
		return
	}
	body := map[string]string{"current_password": cur, "password": next}
	if err := c.call(r, s, http.MethodPost, "/users/"+url.PathEscape(s.who.UserID)+"/password", body, nil); err != nil {
		c.renderPassword(w, r, s, statusOf(err), "Changing the password failed: "+err.Error())
		return
	}
	c.log.Info("console password changed", "user", s.who.UserID)
	c.startSession(w, r, s.who)
}

package console

import "net/http"

// playground serves GET /console/playground: a chat with the gateway's
// models. The session cannot call /v1 (only API keys can, and the gateway
// keeps keys only hashed), so the page asks for one of the account's API
// keys and assets/playground.js calls /v1/models and /v1/chat/completions
// with it from the browser, same-origin; the key stays in the page's
// memory (the password field), never in web storage or a cookie, and the
// gateway never sees it outside those calls.
func (c *Console) playground(w http.ResponseWriter, r *http.Request, s *session) {
	c.render(w, r, http.StatusOK, "playground", &page{Title: "Playground", Nav: "playground", Who: &s.who, CSRF: s.csrf})
}

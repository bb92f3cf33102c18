package server

import (
	"net/http"

	"github.com/switchyard-gw/switchyard/internal/admin"
)

// oauthPolicy is the snapshot's security.oauth.
func oauthPolicy(sn *snapshot) admin.OAuthPolicy {
	o := sn.cfg.Security.OAuth
	return admin.OAuthPolicy{CodeTTL: o.CodeTTL, AllowPlain: o.AllowPlain}
}

// withCORS lets a page of any origin read h's answers. It is for POST
// /auth/keys only: that request carries no key and no cookie (the code and
// verifier are its proof, and only the app that made the verifier has it),
// so an open origin gives a page nothing it could not get by itself, and
// it is what an app without a backend needs (docs/oauth.md).
func withCORS(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		return h(w, r)
	}
}

// corsPreflight answers a browser's preflight of POST /auth/keys (a JSON
// body makes the POST non-simple): any origin, POST, Content-Type; no
// credentials.
func corsPreflight(w http.ResponseWriter, _ *http.Request) error {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST")
	h.Set("Access-Control-Allow-Headers", "Content-Type")
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

package fakeupstream

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// vertex is Google Vertex AI's publisher model API:
//
//	POST /v1/projects/{p}/locations/{l}/publishers/google/models/{m}:generateContent
//	     (:streamGenerateContent?alt=sse)  — Gemini, answered by the gemini dialect;
//	POST /v1/projects/{p}/locations/{l}/publishers/anthropic/models/{m}:rawPredict
//	     (:streamRawPredict)               — Claude, answered by the anthropic dialect.
//
// A request must carry "Authorization: Bearer <token>" with a token the
// fake's token endpoint minted and that has not expired (Options.Now's
// clock), else 401 UNAUTHENTICATED in Google's envelope; Options.APIKey
// does not apply. A Claude body must not name the model (the path does),
// must carry "anthropic_version": "vertex-2023-10-16", and its stream flag
// must match the method; else 400. Errors of the fault modes come in
// Google's envelope, as Vertex AI's own errors (quota, auth, 5xx) do; a
// malformed body or event is the publisher's.
type vertex struct{ tokens *tokenIssuer }

var _ requestChecker = vertex{}

// vertexAnthropicVersion is the one anthropic_version Vertex AI takes.
const vertexAnthropicVersion = "vertex-2023-10-16"

// vertexCall splits a publisher model path; ok is false for any other.
func vertexCall(path string) (publisher, model, method string, ok bool) {
	rest, ok := strings.CutPrefix(path, "/v1/projects/")
	if !ok {
		return "", "", "", false
	}
	parts := strings.Split(rest, "/")
	// {p} locations {l} publishers {pub} models {m}:{method}
	if len(parts) != 7 || parts[1] != "locations" || parts[3] != "publishers" || parts[5] != "models" || parts[0] == "" || parts[2] == "" {
		return "", "", "", false
	}
	model, method, ok = strings.Cut(parts[6], ":")
	if !ok || model == "" {
		return "", "", "", false
	}
	return parts[4], model, method, true
}

func (vertex) matches(r *http.Request) bool {
	_, _, _, ok := vertexCall(r.URL.Path)
	return ok
}

func (vertex) apiKey(r *http.Request) string {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return tok
}

func (vertex) writeError(w http.ResponseWriter, status int, typ, code, message string) {
	gemini{}.writeError(w, status, typ, code, message)
}

func (vertex) writeKeyEcho(w http.ResponseWriter, status int, f errorFields) {
	gemini{}.writeKeyEcho(w, status, f)
}

// writeAuthError answers as Google does for a missing, unknown or expired
// access token.
func (vertex) writeAuthError(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
	writeGeminiError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.", nil)
}

// authenticate implements authenticator: a minted, unexpired token.
func (v vertex) authenticate(r *http.Request) bool {
	return v.tokens != nil && v.tokens.valid(v.apiKey(r))
}

func (vertex) isStream(r *http.Request, _ []byte) bool {
	_, _, method, _ := vertexCall(r.URL.Path)
	return r.Method == http.MethodPost && (method == "streamGenerateContent" || method == "streamRawPredict")
}

func (vertex) publisher(r *http.Request) dialect {
	if pub, _, _, _ := vertexCall(r.URL.Path); pub == "anthropic" {
		return anthropic{}
	}
	return gemini{}
}

// writeMalformed and malformedEvent are told nothing of the request: the
// Gemini body and the Anthropic event (a named event whose data does not
// parse) fail either publisher's reader.
func (vertex) writeMalformed(w http.ResponseWriter) { gemini{}.writeMalformed(w) }
func (vertex) malformedEvent() []byte               { return anthropic{}.malformedEvent() }

// checkRequest refuses what Vertex AI refuses before a model sees it: an
// unknown publisher or method, and a Claude body in the Messages API's own
// shape rather than Vertex AI's.
func (v vertex) checkRequest(w http.ResponseWriter, r *http.Request) bool {
	pub, _, method, _ := vertexCall(r.URL.Path)
	switch {
	case pub == "google" && (method == "generateContent" || method == "streamGenerateContent"):
		return true
	case pub == "anthropic" && (method == "rawPredict" || method == "streamRawPredict"):
	default:
		writeGeminiError(w, http.StatusNotFound, "NOT_FOUND", "Publisher model method not found: "+pub+" "+method, nil)
		return false
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	msg := ""
	switch {
	case !gjson.ValidBytes(body):
		msg = "Invalid JSON payload received."
	case gjson.GetBytes(body, "model").Exists():
		msg = "model: Extra inputs are not permitted (the model is named by the URL)"
	case gjson.GetBytes(body, "anthropic_version").String() != vertexAnthropicVersion:
		msg = "anthropic_version: Input should be '" + vertexAnthropicVersion + "'"
	case gjson.GetBytes(body, "stream").Bool() != (method == "streamRawPredict"):
		msg = "stream must be true for streamRawPredict and absent or false for rawPredict"
	}
	if msg != "" {
		writeGeminiError(w, http.StatusBadRequest, "INVALID_ARGUMENT", msg, nil)
		return false
	}
	return true
}

// answer hands the request to its publisher's dialect; a Claude body gets
// the model from the path first, as the anthropic dialect expects it.
func (v vertex) answer(w http.ResponseWriter, r *http.Request, b Behavior, models []string, nextID func() uint64) {
	pub, model, _, _ := vertexCall(r.URL.Path)
	if pub == "anthropic" {
		body, _ := io.ReadAll(r.Body)
		body, _ = sjson.SetBytes(body, "model", model)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	v.publisher(r).answer(w, r, b, models, nextID)
}

// An authenticator is a dialect whose credential the server does not hold
// (Options.APIKey): it checks a request's itself.
type authenticator interface {
	authenticate(r *http.Request) bool
}

// ServiceAccount is a Google service account the fake's token endpoint
// knows: the JWT assertions it signs with Key are accepted.
type ServiceAccount struct {
	Email string
	Key   *rsa.PrivateKey
}

// NewServiceAccount makes a service account with a new 2048-bit key.
func NewServiceAccount() *ServiceAccount {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return &ServiceAccount{Email: "switchyard-test@fake-project.iam.gserviceaccount.com", Key: k}
}

// JSON is the account's key file as the Google Cloud console issues it,
// with token_uri pointing at tokenURL (the fake's TokenURL).
func (sa *ServiceAccount) JSON(tokenURL string) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(sa.Key)
	if err != nil {
		panic(err)
	}
	b, _ := json.MarshalIndent(map[string]string{
		"type":                        "service_account",
		"project_id":                  "fake-project",
		"private_key_id":              "0123456789abcdef",
		"private_key":                 string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":                sa.Email,
		"client_id":                   "100000000000000000001",
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   tokenURL,
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"universe_domain":             "googleapis.com",
	}, "", "  ")
	return b
}

// AuthorizedUser is a user's credential as `gcloud auth
// application-default login` writes it: the token endpoint also accepts
// its refresh token (grant_type=refresh_token with the client in the
// form), when Options.ServiceAccount enables the endpoint.
type AuthorizedUser struct {
	ClientID, ClientSecret, RefreshToken string
}

// JSON is the credential file with token_uri pointing at tokenURL.
func (u *AuthorizedUser) JSON(tokenURL string) []byte {
	b, _ := json.Marshal(map[string]string{"type": "authorized_user", "client_id": u.ClientID, "client_secret": u.ClientSecret,
		"refresh_token": u.RefreshToken, "token_uri": tokenURL})
	return b
}

// tokenPath is where the fake's token endpoint listens.
const tokenPath = "/token"

// TokenURL is the fake's OAuth token endpoint (Options.ServiceAccount).
func (s *Server) TokenURL() string { return s.URL + tokenPath }

// TokensMinted is how many access tokens the token endpoint has issued.
func (s *Server) TokensMinted() int {
	if s.tokens == nil {
		return 0
	}
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	return s.tokens.minted
}

// SetTokenFailure makes the token endpoint answer status (with
// {"error": "invalid_grant"} for a 4xx) until it is set back to 0.
func (s *Server) SetTokenFailure(status int) {
	s.tokens.mu.Lock()
	s.tokens.failWith = status
	s.tokens.mu.Unlock()
}

// tokenIssuer is Google's OAuth 2.0 token endpoint for service accounts
// (the JWT bearer grant, RFC 7523): it verifies the assertion's RS256
// signature with the account's public key and its claims (iss, aud = the
// endpoint, scope, iat/exp within an hour of the wall clock, as the
// assertion's signer dates it), and mints opaque tokens that expire after
// lifetime on the issuer's clock.
type tokenIssuer struct {
	sa       *ServiceAccount
	user     *AuthorizedUser // nil: no refresh tokens accepted
	url      func() string
	lifetime time.Duration
	now      func() time.Time

	mu       sync.Mutex
	tokens   map[string]time.Time // token → expiry
	minted   int
	failWith int
}

func (ti *tokenIssuer) valid(tok string) bool {
	if tok == "" {
		return false
	}
	ti.mu.Lock()
	exp, ok := ti.tokens[tok]
	ti.mu.Unlock()
	return ok && ti.now().Before(exp)
}

func writeTokenError(w http.ResponseWriter, status int, code, desc string) {
	b, _ := json.Marshal(map[string]string{"error": code, "error_description": desc})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

func (ti *tokenIssuer) serve(w http.ResponseWriter, r *http.Request) {
	ti.mu.Lock()
	fail := ti.failWith
	ti.mu.Unlock()
	if fail != 0 {
		writeTokenError(w, fail, "invalid_grant", "fake token endpoint failure")
		return
	}
	if r.Method != http.MethodPost {
		writeTokenError(w, http.StatusMethodNotAllowed, "invalid_request", "POST only")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeTokenError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	switch f := r.PostForm; f.Get("grant_type") {
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		if desc := ti.verify(f.Get("assertion")); desc != "" {
			writeTokenError(w, http.StatusBadRequest, "invalid_grant", desc)
			return
		}
	case "refresh_token":
		u := ti.user
		if u == nil || f.Get("client_id") != u.ClientID || f.Get("client_secret") != u.ClientSecret {
			writeTokenError(w, http.StatusUnauthorized, "invalid_client", "The OAuth client was not found.")
			return
		}
		if f.Get("refresh_token") != u.RefreshToken {
			writeTokenError(w, http.StatusBadRequest, "invalid_grant", "Bad Request")
			return
		}
	default:
		writeTokenError(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+f.Get("grant_type"))
		return
	}
	var rnd [16]byte
	_, _ = rand.Read(rnd[:])
	tok := "ya29.fake-" + hex.EncodeToString(rnd[:])
	ti.mu.Lock()
	ti.tokens[tok] = ti.now().Add(ti.lifetime)
	ti.minted++
	ti.mu.Unlock()
	b, _ := json.Marshal(map[string]any{"access_token": tok, "expires_in": int64(ti.lifetime / time.Second), "token_type": "Bearer"})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

// verify checks a JWT assertion; "" when it is good, else why not.
func (ti *tokenIssuer) verify(assertion string) string {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return "Invalid JWT: not three parts"
	}
	var header struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
	}
	var claims struct {
		Iss   string `json:"iss"`
		Scope string `json:"scope"`
		Aud   string `json:"aud"`
		Iat   int64  `json:"iat"`
		Exp   int64  `json:"exp"`
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &header) != nil || json.Unmarshal(cb, &claims) != nil {
		return "Invalid JWT: not base64url JSON"
	}
	if header.Alg != "RS256" {
		return "Invalid JWT: alg must be RS256"
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&ti.sa.Key.PublicKey, crypto.SHA256, digest[:], sig) != nil {
		return "Invalid JWT Signature."
	}
	now := time.Now().Unix()
	switch {
	case claims.Iss != ti.sa.Email:
		return "Invalid JWT: iss is not a known service account"
	case claims.Aud != ti.url():
		return "Invalid JWT: aud must be " + ti.url()
	case !strings.Contains(" "+claims.Scope+" ", " https://www.googleapis.com/auth/cloud-platform "):
		return "Invalid JWT: scope must include cloud-platform"
	case claims.Exp <= now || claims.Iat > now+60 || claims.Exp-claims.Iat > 3600:
		return "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. iat=" +
			strconv.FormatInt(claims.Iat, 10) + " exp=" + strconv.FormatInt(claims.Exp, 10)
	}
	return ""
}

package provider

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/switchyard-gw/switchyard/internal/config"
)

// cloudPlatformScope is the OAuth scope Vertex AI takes.
const cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"

// googleFetchTimeout bounds one token request (the oauth2 package sends it
// without a context, so the client's timeout is what ends it).
const googleFetchTimeout = 30 * time.Second

// libraryEarly is how early the signer refreshes a token of a source that
// the oauth2 package caches itself (ADC from the metadata server, a user's
// or workload identity's credentials): it hands out a new token only within
// 10 s of the old one's expiry, so the signer asks within that window.
const libraryEarly = 5 * time.Second

// googleSigner is a BearerSigner with Google OAuth tokens for the cloud
// platform scope, from cfg.CredentialsFile or else Application Default
// Credentials. Everything that can be checked without the network is
// checked here, at start: a file that cannot be read, is not a Google
// credential, or whose private key does not parse. Errors name the file
// and the fix, never the key.
//
// A service-account key (the file, or ADC's) is signed into a JWT
// assertion by golang.org/x/oauth2/jwt and exchanged at its token_uri once
// per fetch; the signer alone caches and refreshes (one minute early,
// single-flight). Other credentials go through the oauth2 package's own
// token source, which caches too (libraryEarly).
func googleSigner(cfg *config.Provider, shared http.RoundTripper) (*BearerSigner, error) {
	hc := &http.Client{
		Transport: shared,
		Timeout:   googleFetchTimeout,
		// A token endpoint that redirects is not followed: the assertion
		// would go wherever it points.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)
	s := &BearerSigner{FetchTimeout: googleFetchTimeout}
	src := &googleSource{now: s.now}
	var data []byte
	if f := cfg.CredentialsFile; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("credentials_file: %w; write the path of a service-account JSON key (Google Cloud console: IAM & Admin → Service accounts → Keys → Add key → JSON)", err)
		}
		data = b
	} else {
		creds, err := google.FindDefaultCredentialsWithParams(ctx, google.CredentialsParams{Scopes: []string{cloudPlatformScope}})
		if err != nil {
			return nil, fmt.Errorf("no credentials_file and no Application Default Credentials (%v); set credentials_file to a service-account JSON key, or GOOGLE_APPLICATION_CREDENTIALS, or run `gcloud auth application-default login`", err)
		}
		if creds.JSON == nil {
			// The metadata server of the machine the gateway runs on.
			src.fetch = func(context.Context) (*oauth2.Token, error) { return creds.TokenSource.Token() }
			s.Source, s.Early = src, libraryEarly
			return s, nil
		}
		data = creds.JSON
	}
	what := "the Application Default Credentials file"
	if f := os.Getenv("GOOGLE_APPLICATION_CREDENTIALS"); f != "" {
		what += " " + f + " (GOOGLE_APPLICATION_CREDENTIALS)"
	}
	if cfg.CredentialsFile != "" {
		what = "credentials_file " + cfg.CredentialsFile
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("%s is not a JSON credential; write the path of a service-account JSON key as downloaded from the Google Cloud console", what)
	}
	switch head.Type {
	case "service_account":
		conf, err := google.JWTConfigFromJSON(data, cloudPlatformScope)
		if err != nil {
			return nil, fmt.Errorf("%s is not a service-account key; download a new JSON key for the service account", what)
		}
		if conf.Email == "" {
			return nil, fmt.Errorf("%s has no client_email; download a new JSON key for the service account", what)
		}
		if !rsaKey(conf.PrivateKey) {
			return nil, fmt.Errorf("%s: its private_key is not a PEM-encoded RSA private key; download a new JSON key for the service account", what)
		}
		if u, err := url.Parse(conf.TokenURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("%s: its token_uri is not an http(s) URL; remove it (Google's is the default) or download a new key", what)
		}
		src.fetch = func(ctx context.Context) (*oauth2.Token, error) {
			// A new jwt source per fetch: its own cache would hand the
			// signer the old token back when it refreshes early.
			return conf.TokenSource(context.WithValue(ctx, oauth2.HTTPClient, hc)).Token()
		}
		s.Source = src
		return s, nil
	case "authorized_user", "external_account", "external_account_authorized_user", "impersonated_service_account":
		creds, err := google.CredentialsFromJSONWithType(ctx, data, google.CredentialsType(head.Type), cloudPlatformScope)
		if err != nil {
			return nil, fmt.Errorf("%s is not a valid %s credential; create it again (gcloud auth application-default login, or the workload identity configuration)", what, head.Type)
		}
		src.fetch = func(context.Context) (*oauth2.Token, error) { return creds.TokenSource.Token() }
		s.Source, s.Early = src, libraryEarly
		return s, nil
	}
	t := head.Type
	if len(t) > 40 {
		t = t[:40] + "…"
	}
	return nil, fmt.Errorf("%s has type %q, which the gateway cannot get a token with; use a service-account JSON key (\"type\": \"service_account\")", what, t)
}

// rsaKey reports whether pemKey is an RSA private key in PEM (PKCS #8, as
// Google issues them, or PKCS #1).
func rsaKey(pemKey []byte) bool {
	b, _ := pem.Decode(pemKey)
	if b == nil {
		return false
	}
	if k, err := x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
		_, ok := k.(*rsa.PrivateKey)
		return ok
	}
	_, err := x509.ParsePKCS1PrivateKey(b.Bytes)
	return err == nil
}

// unknownLifetime is how long a token is used whose answer gave no
// expires_in.
const unknownLifetime = 10 * time.Minute

// googleSource is a TokenSource over the oauth2 package's: errors are
// reduced to what carries no secret, and the expiry is put on the signer's
// clock (the oauth2 package computes it from time.Now).
type googleSource struct {
	fetch func(ctx context.Context) (*oauth2.Token, error)
	now   func() time.Time
}

// Token implements TokenSource.
func (g *googleSource) Token(ctx context.Context) (Token, error) {
	issued := g.now()
	t, err := g.fetch(ctx)
	if err != nil {
		return Token{}, googleTokenError(err)
	}
	if t == nil || t.AccessToken == "" {
		return Token{}, errors.New("the token endpoint's answer has no access_token")
	}
	// The lifetime left as of now, counted from before the request: never
	// later than the token really expires. Google always says how long a
	// token lives; one that did not is used for unknownLifetime, not for
	// ever.
	left := unknownLifetime
	if !t.Expiry.IsZero() {
		left = time.Until(t.Expiry)
	}
	return Token{Value: t.AccessToken, Expiry: issued.Add(left)}, nil
}

// googleTokenError is err without what the token endpoint answered beyond
// its status and RFC 6749 error code (a body may echo what was sent).
func googleTokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code := re.ErrorCode
		if code == "" {
			var ans struct {
				Error string `json:"error"`
			}
			_ = json.Unmarshal(re.Body, &ans)
			code = ans.Error
		}
		msg := "the Google token endpoint refused the credential"
		if re.Response != nil {
			msg = "the Google token endpoint answered HTTP " + strconv.Itoa(re.Response.StatusCode)
		}
		if oauthErrors[code] {
			msg += " (" + code + ")"
		}
		return errors.New(msg)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		// The URL and the transport's cause; never headers or the body.
		return fmt.Errorf("could not reach the Google token endpoint: %w", ue)
	}
	return errors.New("the Google token endpoint's answer is not a token")
}

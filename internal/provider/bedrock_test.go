package provider

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/config"
)

func bedrockRequest(t *testing.T, cfg *config.Provider, body string) (*Provider, *http.Request) {
	t.Helper()
	p, err := newBedrock(cfg, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := p.Signer.(*SigV4); ok {
		s.Now = func() time.Time { return time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC) }
	}
	req, err := p.NewRequest(context.Background(), "/model/amazon.nova-pro-v1%3A0/converse", []byte(body), false, "req-1")
	if err != nil {
		t.Fatal(err)
	}
	return p, req
}

// TestBedrockSignsWithSigV4: static AWS credentials sign each request with
// SigV4 for the bedrock service in the configured region, over the body
// (another body, another signature), with the session token sent along.
// The secret key never travels.
func TestBedrockSignsWithSigV4(t *testing.T) {
	cfg := &config.Provider{Name: "b", Type: "bedrock", BaseURL: "https://bedrock-runtime.eu-west-3.amazonaws.com", Region: "eu-west-3",
		AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", SessionToken: "session-token-123456"}
	p, req := bedrockRequest(t, cfg, `{"messages":[]}`)
	auth := req.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261206/eu-west-3/bedrock/aws4_request, SignedHeaders=") {
		t.Fatalf("Authorization = %q", auth)
	}
	for _, h := range []string{"content-type", "host", "x-amz-date", "x-amz-security-token"} {
		if !strings.Contains(auth, h) {
			t.Errorf("%s is not signed: %s", h, auth)
		}
	}
	if got := req.Header.Get("X-Amz-Date"); got != "20261206T120000Z" {
		t.Errorf("X-Amz-Date = %q", got)
	}
	if got := req.Header.Get("X-Amz-Security-Token"); got != "session-token-123456" {
		t.Errorf("X-Amz-Security-Token = %q", got)
	}
	for k, v := range req.Header {
		if strings.Contains(strings.Join(v, " "), string(cfg.SecretAccessKey)) {
			t.Errorf("header %s carries the secret key", k)
		}
	}
	_, other := bedrockRequest(t, cfg, `{"messages":[{}]}`)
	if other.Header.Get("Authorization") == auth {
		t.Error("two bodies, one signature: the payload is not signed")
	}
	if got := p.Scrub("echo session-token-123456 and wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"); strings.Contains(got, "session-token") || strings.Contains(got, "EXAMPLEKEY") {
		t.Errorf("Scrub left a credential: %q", got)
	}
}

// TestBedrockUsesTheDefaultCredentialChain: without keys in the config
// the SDK's chain supplies them (here from the environment).
func TestBedrockUsesTheDefaultCredentialChain(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAFROMENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-from-env-0123456789")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	cfg := &config.Provider{Name: "b", Type: "bedrock", BaseURL: "https://bedrock-runtime.us-west-2.amazonaws.com", Region: "us-west-2"}
	_, req := bedrockRequest(t, cfg, `{}`)
	if auth := req.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIAFROMENV/20261206/us-west-2/bedrock/aws4_request") {
		t.Fatalf("Authorization = %q", auth)
	}
}

// TestBedrockWithoutCredentialsFailsToSign: a chain that finds nothing is
// a SignError naming what failed, not a request sent unsigned.
func TestBedrockWithoutCredentialsFailsToSign(t *testing.T) {
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	p, err := newBedrock(&config.Provider{Name: "b", Type: "bedrock", BaseURL: "http://127.0.0.1:1", Region: "us-east-1"}, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = p.NewRequest(ctx, "/model/x/converse", []byte(`{}`), false, "")
	var se *SignError
	if !asSignError(err, &se) || !strings.Contains(err.Error(), "AWS credentials") {
		t.Fatalf("err = %v, want a SignError about AWS credentials", err)
	}
}

func asSignError(err error, se **SignError) bool {
	e, ok := err.(*SignError)
	*se = e
	return ok
}

// TestBedrockProvidersDoNotShareSigningKeys: the SDK's signer caches the
// derived key by access key id; two providers with one access key id and
// different secrets (an account's keys mid-rotation, or a test and a real
// secret) must still sign each with its own secret.
func TestBedrockProvidersDoNotShareSigningKeys(t *testing.T) {
	cfg := func(secret config.Secret) *config.Provider {
		return &config.Provider{Name: "b", Type: "bedrock", BaseURL: "https://bedrock-runtime.us-east-1.amazonaws.com", Region: "us-east-1",
			AccessKeyID: "AKIDSAME", SecretAccessKey: secret}
	}
	_, a := bedrockRequest(t, cfg("secret-number-one-0123456789"), `{}`)
	_, b := bedrockRequest(t, cfg("secret-number-two-0123456789"), `{}`)
	if a.Header.Get("Authorization") == b.Header.Get("Authorization") {
		t.Fatal("two secrets signed alike: the derived key was shared")
	}
}

// TestBedrockStreamsAskForAnEventStream: a streamed Converse request asks
// for the AWS event stream it is answered with, not SSE.
func TestBedrockStreamsAskForAnEventStream(t *testing.T) {
	p, err := newBedrock(&config.Provider{Name: "b", Type: "bedrock", BaseURL: "http://127.0.0.1:1", Region: "us-east-1", APIKey: "k"}, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	req, err := p.NewRequest(context.Background(), "/model/m/converse-stream", []byte(`{}`), true, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("Accept"); got != "application/vnd.amazon.eventstream" {
		t.Fatalf("Accept = %q", got)
	}
}

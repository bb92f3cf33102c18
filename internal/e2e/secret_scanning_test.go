package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-gw/switchyard/internal/apikey"
)

// secretScanningConfig trusts the public key in $SS_PEM as GitHub's key "gh-1".
const secretScanningConfig = baseConfig + `
security:
  secret_scanning:
    public_keys:
      - id: gh-1
        pem: "${SS_PEM}"
`

func newSigningKey(t *testing.T) (*ecdsa.PrivateKey, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return k, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// report posts body as GitHub does: signed by k (nil: unsigned) under keyID.
func report(t *testing.T, g *gateway, k *ecdsa.PrivateKey, keyID, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, g.URL+"/api/v1/secret-scanning/report", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if k != nil {
		sum := sha256.Sum256([]byte(body))
		sig, err := ecdsa.SignASN1(rand.Reader, k, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Github-Public-Key-Identifier", keyID)
		req.Header.Set("Github-Public-Key-Signature", base64.StdEncoding.EncodeToString(sig))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, readAll(t, resp.Body)
}

func errorCode(body string) string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal([]byte(body), &e)
	return e.Error.Code
}

func TestSecretScanningReportDisablesTheLeakedKey(t *testing.T) {
	gh, pubPEM := newSigningKey(t)
	impostor, _ := newSigningKey(t)
	var (
		mu  sync.Mutex
		now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	g := start(t, opts{yaml: secretScanningConfig, env: map[string]string{"SS_PEM": pubPEM}, now: clock})

	st, out := g.admin(t, "POST", "/api/v1/keys", g.AdminKey, `{"name":"leaky"}`)
	if st != 201 {
		t.Fatalf("create: %d %v", st, out)
	}
	leaky := out["key"].(string)
	hash := out["data"].(map[string]any)["hash"].(string)
	unknown := apikey.New()
	badChecksum := leaky[:len(leaky)-1] + map[bool]string{true: "b", false: "a"}[leaky[len(leaky)-1] == 'a']
	body := `[{"token":"` + leaky + `","type":"switchyard_api_key","url":"https://github.com/octo/app/blob/abc123/.env","source":"content"},` +
		`{"token":"` + unknown + `","type":"switchyard_api_key","url":"https://gist.github.com/x","source":"gist_content"},` +
		`{"token":"` + badChecksum + `","type":"switchyard_api_key","url":"https://github.com/y","source":"content"}]`

	leakedOf := func() (bool, any) {
		t.Helper()
		st, out := g.admin(t, "GET", "/api/v1/keys/"+hash, g.AdminKey, "")
		if st != 200 {
			t.Fatalf("get key: %d %v", st, out)
		}
		data := out["data"].(map[string]any)
		return data["disabled"].(bool), data["leaked"]
	}

	// Refused reports change nothing: the key still works.
	refusals := []struct {
		name   string
		signer *ecdsa.PrivateKey
		keyID  string
		body   string
		status int
		code   string
	}{
		{name: "signed by another key", signer: impostor, keyID: "gh-1", body: body, status: 401, code: "invalid_signature"},
		{name: "unknown key id", signer: gh, keyID: "gh-2", body: body, status: 401, code: "invalid_signature"},
		{name: "unsigned", signer: nil, body: body, status: 401, code: "invalid_signature"},
		{name: "malformed JSON, signed", signer: gh, keyID: "gh-1", body: `[{"token":"` + leaky + `"`, status: 400, code: "invalid_request_error"},
		{name: "object, not array, signed", signer: gh, keyID: "gh-1", body: `{"token":"` + leaky + `"}`, status: 400, code: "invalid_request_error"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			st, resp := report(t, g, tt.signer, tt.keyID, tt.body)
			if st != tt.status || errorCode(resp) != tt.code {
				t.Fatalf("report: %d %s; want %d %s", st, resp, tt.status, tt.code)
			}
			if strings.Contains(resp, leaky) {
				t.Fatalf("the refusal echoes the key: %s", resp)
			}
			if err := chatErr(g, leaky, "gpt-4o"); err != nil {
				t.Fatalf("the key stopped working after a refused report: %v", err)
			}
			if disabled, leaked := leakedOf(); disabled || leaked != nil {
				t.Fatalf("after a refused report: disabled %v, leaked %v", disabled, leaked)
			}
		})
	}

	want := `[{"token_raw":"` + leaky + `","token_type":"switchyard_api_key","label":"true_positive"},` +
		`{"token_raw":"` + unknown + `","token_type":"switchyard_api_key","label":"false_positive"},` +
		`{"token_raw":"` + badChecksum + `","token_type":"switchyard_api_key","label":"false_positive"}]`
	st, resp := report(t, g, gh, "gh-1", body)
	if st != 200 || strings.TrimSpace(resp) != want {
		t.Fatalf("report: %d %s\nwant 200 %s", st, resp, want)
	}
	wantAPIError(t, chatErr(g, leaky, "gpt-4o"), 403, "key_disabled")
	disabled, leaked := leakedOf()
	wantLeak := map[string]any{"at": "2026-03-01T12:00:00Z", "url": "https://github.com/octo/app/blob/abc123/.env", "source": "content"}
	if !disabled || toJSON(leaked) != toJSON(wantLeak) {
		t.Fatalf("after the report: disabled %v, leaked %v; want %v", disabled, leaked, wantLeak)
	}
	// Other keys are untouched.
	if err := chatErr(g, g.Key, "gpt-4o"); err != nil {
		t.Fatalf("the demo key: %v", err)
	}

	// GitHub retries and repeats: the same answer, the first report kept.
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	if st, resp := report(t, g, gh, "gh-1", body); st != 200 || strings.TrimSpace(resp) != want {
		t.Fatalf("second report: %d %s", st, resp)
	}
	if disabled, again := leakedOf(); !disabled || toJSON(again) != toJSON(wantLeak) {
		t.Fatalf("after the second report: disabled %v, leaked %v; want %v", disabled, again, wantLeak)
	}
}

func TestSecretScanningWithoutConfiguredKeysRefusesEveryReport(t *testing.T) {
	g := start(t, opts{})
	gh, _ := newSigningKey(t)
	st, resp := report(t, g, gh, "gh-1", `[{"token":"`+g.Key+`","type":"t","url":"u","source":"content"}]`)
	if st != 403 || !strings.Contains(resp, "security.secret_scanning.public_keys") {
		t.Fatalf("report: %d %s; want 403 naming the setting", st, resp)
	}
	if err := chatErr(g, g.Key, "gpt-4o"); err != nil {
		t.Fatalf("the key stopped working: %v", err)
	}
}

func TestSecretScanningReportBodyIsBounded(t *testing.T) {
	gh, pubPEM := newSigningKey(t)
	g := start(t, opts{yaml: secretScanningConfig, env: map[string]string{"SS_PEM": pubPEM}})
	big := `[{"token":"` + strings.Repeat("x", 1<<20) + `"}]`
	if st, resp := report(t, g, gh, "gh-1", big); st != 413 {
		t.Fatalf("a 1 MiB report: %d %s; want 413", st, resp)
	}
}

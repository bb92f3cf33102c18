package oauth

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// RFC 7636 appendix B: the verifier and its S256 challenge.
const (
	rfcVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	rfcChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

func TestS256MatchesRFC7636AppendixB(t *testing.T) {
	if got := Challenge(rfcVerifier); got != rfcChallenge {
		t.Fatalf("Challenge = %q, want %q", got, rfcChallenge)
	}
	if err := Verify(MethodS256, rfcChallenge, rfcVerifier); err != nil {
		t.Fatalf("Verify of the RFC's pair = %v", err)
	}
	if err := CheckChallenge(MethodS256, rfcChallenge); err != nil {
		t.Fatalf("CheckChallenge of the RFC's challenge = %v", err)
	}
}

func TestVerifyRefusesWhatDoesNotMatch(t *testing.T) {
	other := strings.Repeat("a", 43)
	tests := []struct {
		name, method, challenge, verifier string
		mismatch                          bool
	}{
		{name: "another verifier", method: MethodS256, challenge: rfcChallenge, verifier: other, mismatch: true},
		{name: "the challenge sent as verifier", method: MethodS256, challenge: rfcChallenge, verifier: rfcChallenge, mismatch: true},
		{name: "plain with the S256 pair", method: MethodPlain, challenge: rfcChallenge, verifier: rfcVerifier, mismatch: true},
		{name: "verifier too short", method: MethodS256, challenge: Challenge("short"), verifier: "short"},
		{name: "verifier too long", method: MethodPlain, challenge: strings.Repeat("a", 129), verifier: strings.Repeat("a", 129)},
		{name: "verifier outside the unreserved set", method: MethodS256, challenge: Challenge(strings.Repeat("a", 42) + "+"), verifier: strings.Repeat("a", 42) + "+"},
		{name: "unknown method", method: "S512", challenge: rfcChallenge, verifier: rfcVerifier},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.method, tt.challenge, tt.verifier)
			if err == nil || errors.Is(err, ErrMismatch) != tt.mismatch {
				t.Fatalf("Verify = %v; want a refusal (mismatch %v)", err, tt.mismatch)
			}
		})
	}
	if err := Verify(MethodPlain, strings.Repeat("~", 128), strings.Repeat("~", 128)); err != nil {
		t.Fatalf("plain at the 128-character bound = %v", err)
	}
}

func TestCheckChallengeAndAllowed(t *testing.T) {
	for _, bad := range []struct{ method, challenge string }{
		{MethodS256, rfcChallenge + "="}, {MethodS256, rfcChallenge[:42]}, {MethodS256, strings.Repeat("+", 43)},
		{MethodPlain, "short"}, {"", rfcChallenge}, {"s256", rfcChallenge},
	} {
		if CheckChallenge(bad.method, bad.challenge) == nil {
			t.Errorf("CheckChallenge(%q, %q) = nil, want a refusal", bad.method, bad.challenge)
		}
	}
	if Allowed(MethodPlain, false) == nil || Allowed(MethodPlain, true) != nil || Allowed(MethodS256, false) != nil || Allowed("", true) == nil {
		t.Fatal("Allowed: plain only when allowed, S256 always, nothing else")
	}
}

func TestCallbackURLs(t *testing.T) {
	ok := []string{"https://app.example.com/cb", "https://app.example.com:8443/cb?state=1", "http://localhost:3000/cb",
		"http://127.0.0.1:9/cb", "http://[::1]:8080/", "HTTP://LOCALHOST/cb"}
	for _, raw := range ok {
		if _, err := Callback(raw); err != nil {
			t.Errorf("Callback(%q) = %v, want accepted", raw, err)
		}
	}
	bad := []string{"", "http://app.example.com/cb", "http://localhost.evil.example/cb", "http://127.0.0.2/cb",
		"ftp://app.example.com/", "javascript:alert(1)", "/relative", "https://user:pw@app.example.com/",
		"https://app.example.com/cb#frag", "https://a;b.example/cb", "https://a%20b.example/", "https:///nohost", "data:text/html,x", "https://" + strings.Repeat("a", 2100) + ".example"}
	for _, raw := range bad {
		if _, err := Callback(raw); err == nil {
			t.Errorf("Callback(%q) accepted, want refused", raw)
		}
	}
}

func TestWithParamKeepsTheQuery(t *testing.T) {
	for _, tt := range []struct{ raw, want string }{
		{"https://app.example.com/cb", "https://app.example.com/cb?code=a%2Bb"},
		{"https://app.example.com/cb?state=x&y=1", "https://app.example.com/cb?state=x&y=1&code=a%2Bb"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080?code=a%2Bb"},
	} {
		u, err := url.Parse(tt.raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := WithParam(u, "code", "a+b"); got != tt.want {
			t.Errorf("WithParam(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

func TestCodesAreRandomAndHashed(t *testing.T) {
	a, b := NewCode(), NewCode()
	if a == b || len(a) != 43 {
		t.Fatalf("codes %q, %q: want two different 43-character codes", a, b)
	}
	if h := HashCode(a); len(h) != 64 || h == HashCode(b) || strings.Contains(h, a) {
		t.Fatalf("HashCode = %q", h)
	}
}

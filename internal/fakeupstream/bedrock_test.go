package fakeupstream

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/switchyard-gw/switchyard/internal/framing"
)

const bedrockBody = `{"messages":[{"role":"user","content":[{"text":"hi"}]}]}`

// signedBedrock is a Converse request signed with secret at t; tamper, if
// set, changes the body after signing.
func signedBedrock(t *testing.T, url, secret string, at time.Time, tamper bool, stream bool) *http.Request {
	t.Helper()
	op := "converse"
	if stream {
		op = "converse-stream"
	}
	body := []byte(bedrockBody)
	req, _ := http.NewRequest(http.MethodPost, url+"/model/us.anthropic.claude-3-haiku-20240307-v1%3A0/"+op, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: secret, SessionToken: "tok"}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "bedrock", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	if tamper {
		alt := []byte(strings.Replace(bedrockBody, "hi", "ho", 1))
		req.Body, req.ContentLength = io.NopCloser(bytes.NewReader(alt)), int64(len(alt))
	}
	return req
}

// TestBedrockChecksSigV4: the fake accepts a request signed with its key
// as the secret, and refuses with AWS's 403 one signed with another
// secret, one whose body changed after signing, and one signed too long
// ago.
func TestBedrockChecksSigV4(t *testing.T) {
	s := New(Options{APIKey: "test-secret"})
	defer s.Close()
	now := time.Now().UTC()
	tests := []struct {
		name string
		req  *http.Request
		want int
	}{
		{"right secret", signedBedrock(t, s.URL, "test-secret", now, false, false), 200},
		{"wrong secret", signedBedrock(t, s.URL, "other-secret", now, false, false), 403},
		{"body changed", signedBedrock(t, s.URL, "test-secret", now, true, false), 403},
		{"stale", signedBedrock(t, s.URL, "test-secret", now.Add(-time.Hour), false, false), 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.DefaultClient.Do(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			if tt.want == 403 && !strings.HasPrefix(resp.Header.Get("X-Amzn-Errortype"), "InvalidSignatureException") {
				t.Errorf("x-amzn-ErrorType %q", resp.Header.Get("X-Amzn-Errortype"))
			}
		})
	}
	if got := s.Last().Path; got != "/model/us.anthropic.claude-3-haiku-20240307-v1:0/converse" {
		t.Errorf("path %q", got)
	}
}

// TestBedrockStreamIsEventStream: ConverseStream answers AWS event-stream
// messages, and DropAfterChunks counts them.
func TestBedrockStreamIsEventStream(t *testing.T) {
	s := New(Options{APIKey: "test-secret", Default: Behavior{Reply: "a b c"}})
	defer s.Close()
	read := func() []string {
		resp, err := http.DefaultClient.Do(signedBedrock(t, s.URL, "test-secret", time.Now().UTC(), false, true))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "application/vnd.amazon.eventstream" {
			t.Fatalf("Content-Type %q", ct)
		}
		rd := framing.NewEventStreamReader(resp.Body, 64, framing.MaxFrame)
		var names []string
		for {
			name, _, err := rd.Next()
			if err != nil {
				if err != io.EOF {
					names = append(names, "error")
				}
				return names
			}
			names = append(names, string(name))
		}
	}
	got := strings.Join(read(), " ")
	want := "messageStart contentBlockDelta contentBlockDelta contentBlockDelta contentBlockStop messageStop metadata"
	if got != want {
		t.Fatalf("events %q, want %q", got, want)
	}
	s.SetDefault(Behavior{Reply: "a b c", DropAfterChunks: 2})
	if got := strings.Join(read(), " "); got != "messageStart contentBlockDelta error" {
		t.Fatalf("dropped stream: %q", got)
	}
}

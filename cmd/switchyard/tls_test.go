package main

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/switchyard-gw/switchyard/internal/testenv"
)

// servedName is the common name of the certificate base's server presents
// to a new connection that trusts any certificate.
func servedName(t *testing.T, base string) string {
	t.Helper()
	host := strings.TrimSuffix(strings.TrimPrefix(base, "https://"), "/v1")
	conn, err := tls.Dial("tcp", host, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
}

func TestServeSpeaksTLSAndReloadsTheCertificateOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := testenv.SelfSigned(t, "first", cert, key)
	cfg := writeFile(t, dir, "switchyard.yaml", "server:\n  tls: { cert_file: "+cert+", key_file: "+key+" }\n")
	s := startServe(t, map[string]string{"SWITCHYARD_DATA": dir}, "--config", cfg)
	if !strings.HasPrefix(s.base, "https://") {
		t.Fatalf("base_url %q, want https://", s.base)
	}
	m := demoKeyLine.FindStringSubmatch(s.stdout.String())
	if m == nil {
		t.Fatalf("no demo key printed:\n%s", s.stdout.String())
	}

	// The OpenAI SDK, trusting the certificate, gets its answer over TLS.
	pool := x509.NewCertPool()
	pool.AddCert(first)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	client := openai.NewClient(option.WithBaseURL(s.base+"/"), option.WithAPIKey(m[1]),
		option.WithHTTPClient(&http.Client{Transport: tr, Timeout: 10 * time.Second}), option.WithMaxRetries(0))
	out, err := client.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model:    "gpt-4o",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello")},
	})
	if err != nil || len(out.Choices) == 0 || out.Choices[0].Message.Content == "" {
		t.Fatalf("chat over TLS: %v %+v", err, out)
	}
	// Plain HTTP to the TLS port is not served.
	if resp, err := http.Get(strings.Replace(s.base, "https://", "http://", 1) + "/models"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP answered 200 on the TLS listener")
		}
	}

	// A renewed certificate is served after SIGHUP, without a restart.
	testenv.SelfSigned(t, "renewed", cert, key)
	if got := servedName(t, s.base); got != "first" {
		t.Fatalf("before SIGHUP: serving %q", got)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for servedName(t, s.base) != "renewed" {
		if time.Now().After(deadline) {
			t.Fatalf("still serving the old certificate 5s after SIGHUP:\n%s", s.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A broken file on the next SIGHUP keeps the certificate in use.
	if err := os.WriteFile(key, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for {
		if _, ok := logLine(s.stderr.String(), "TLS certificate reload on SIGHUP failed; the certificate in use stays"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log of the failed reload:\n%s", s.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := servedName(t, s.base); got != "renewed" {
		t.Fatalf("after a failed reload: serving %q", got)
	}
}

func TestServeRefusesAnIncompleteOrUnreadableTLSConfig(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	testenv.SelfSigned(t, "x", cert, key)
	for _, c := range []struct{ name, yaml, mention string }{
		{"no key", "server:\n  tls: { cert_file: " + cert + " }\n", "server.tls.key_file: is missing"},
		{"missing file", "server:\n  tls: { cert_file: " + cert + ", key_file: " + filepath.Join(dir, "nope.pem") + " }\n", "nope.pem"},
		{"swapped", "server:\n  tls: { cert_file: " + key + ", key_file: " + cert + " }\n", "cannot load the certificate"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := writeFile(t, t.TempDir(), "switchyard.yaml", c.yaml)
			code, _, stderr := runCLI(t, map[string]string{"SWITCHYARD_DATA": t.TempDir()}, "serve", "--listen", "127.0.0.1:0", "--config", cfg)
			if code == 0 || !strings.Contains(stderr, c.mention) {
				t.Fatalf("exit %d, stderr %q; want a failure mentioning %q", code, stderr, c.mention)
			}
		})
	}
}
